// Package catalogops is how maintainers keep the app catalog current and trustworthy:
//
//   - CheckUpdates asks the registries for tags newer than the catalog's, within each
//     image's versioning policy, and a Proposer puts each app's bump up for review
//     (GitProposer: a branch catalog/bump-<app> in a local clone; the update bot's forge
//     client will open pull requests behind the same interface).
//   - Lock records the digest every tag points at now: the multi-platform index of each
//     image, and the sha512 of the compose sysext.
//   - CutRelease cuts an immutable release YYYY.MM.N on the testing channel: refused
//     while anything is unpinned, with a changelog of the bumps since the last release,
//     committed and tagged catalog/<release>.
//   - Promote moves a release to stable only on evidence that the VM test passed with
//     exactly its images, tags it channel/stable/<release> and tells the UpdateBot.
package catalogops
