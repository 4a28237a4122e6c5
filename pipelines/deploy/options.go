package deploy

import (
	"crypto/x509"
	"fmt"
	"os"

	"golang.org/x/crypto/ssh"
)

// readFiles fills in what opt names by file: the CA the health checks trust and the SSH
// key allowed to run the host's backup command.
func (opt ApplyOptions) readFiles() (ApplyOptions, error) {
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
		opt.Backup = SSHBackup{Signer: signer, Addr: opt.BackupAddr}
	}
	return opt, nil
}
