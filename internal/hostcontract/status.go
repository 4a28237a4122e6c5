package hostcontract

import (
	"encoding/json"
	"fmt"
	"time"
)

// Status is the host's record of its last backup run (BackupStatusFile), written by the
// backup script and read by `nassella doctor` through StatusCommand.
type Status struct {
	Time        time.Time `json:"time"`
	Result      string    `json:"result"` // ok or failed
	Error       string    `json:"error"`
	Snapshot    string    `json:"snapshot"`
	SizeBytes   int64     `json:"size_bytes"`
	AddedBytes  int64     `json:"added_bytes"`
	Duration    int64     `json:"duration_seconds"`
	LastSuccess string    `json:"last_success"` // RFC 3339, empty when none ever worked
	Schedule    string    `json:"schedule"`
	Disk        Disk      `json:"disk"`
}

// Disk is the data volume's use when the record was written.
type Disk struct {
	SizeBytes   int64 `json:"size_bytes"`
	UsedBytes   int64 `json:"used_bytes"`
	AvailBytes  int64 `json:"avail_bytes"`
	UsedPercent int   `json:"used_percent"`
}

// ParseStatus reads a status record.
func ParseStatus(data []byte) (*Status, error) {
	var s Status
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("the backup status record is not valid JSON: %w", err)
	}
	return &s, nil
}

// LastSuccessTime is when the last backup that worked finished; zero when none did.
func (s *Status) LastSuccessTime() time.Time {
	t, _ := time.Parse(time.RFC3339, s.LastSuccess)
	return t
}
