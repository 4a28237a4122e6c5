// Package rehearsal runs a generated site's host for real on this machine, so a defect that
// would stop a customer's first boot is caught here instead of on a server.
//
// The compose layer (compose_test.go) takes the Ignition a site's server boots, resolved
// with Ignition's own parser and merge, writes its /etc/nassella and /opt/nassella files
// into a private Docker daemon's mount namespace (internal/testenv/dockertest), and runs
// the host's own units' commands and scripts unchanged: nassella-secrets, every compose
// file brought up with Docker Compose at the catalog's version, Caddy (the real program at
// the catalog's version) routing HTTPS to every app's host name, the backup hooks through
// `docker compose exec` and restic (the real program) writing to an S3 server (versitygw).
// The apps themselves are stand-ins (internal/testenv/standin): no image can be pulled
// here. What only a booted host proves (Ignition's stages, systemd's ordering, the late
// data volume, reboots, rebuilds) is the VM's part (pipelines/vmtest).
//
// The rehearsal changes two things in what it runs, both said where they happen: Caddy
// issues from its internal CA (vmtest.InternalCA: test domains get no public
// certificate), and restic reaches the S3 server over plain HTTP on 127.0.0.1.
package rehearsal
