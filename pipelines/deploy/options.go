package deploy

import (
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
	"golang.org/x/crypto/ssh"
)

// readFiles fills in what opt names by file: the CA the health checks trust and the SSH
// key allowed to run the host's backup command, checking the server by hostKey.
func (opt ApplyOptions) readFiles(hostKey ssh.PublicKey) (ApplyOptions, error) {
	if opt.CAFile != "" {
		pem, err := os.ReadFile(opt.CAFile)
		if err != nil {
			return opt, err
		}
		opt.Health.RootCAs = x509.NewCertPool()
		if !opt.Health.RootCAs.AppendCertsFromPEM(pem) {
			return opt, fmt.Errorf("%s holds no PEM certificate", opt.CAFile)
		}
	}
	if opt.Backup == nil && opt.BackupKeyFile != "" {
		key, err := os.ReadFile(opt.BackupKeyFile)
		if err != nil {
			return opt, err
		}
		signer, err := ssh.ParsePrivateKey(key)
		if err != nil {
			return opt, fmt.Errorf("backup key %s: %w", opt.BackupKeyFile, err)
		}
		opt.Backup = SSHBackup{Signer: signer, Addr: opt.BackupAddr, HostKey: hostKey}
	}
	return opt, nil
}

// planOptions save the plan to file and hand Terraform the public half of the host key
// (OpenTofu cannot derive it from TF_VAR_ssh_host_key itself).
func (e Env) planOptions(file string) []tfexec.PlanOption {
	opts := []tfexec.PlanOption{tfexec.Out(file)}
	if e.HostKey != nil {
		opts = append(opts, tfexec.Var("ssh_host_public_key="+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(e.HostKey)))))
	}
	return opts
}
