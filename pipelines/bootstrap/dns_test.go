package bootstrap

import (
	"context"
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/testenv/dnssim"
)

func TestCheckLiveDNS(t *testing.T) {
	live := []string{"choir.example. 300 IN MX 10 mx1.mail.example.", "choir.example. 300 IN MX 20 mx2.mail.example."}
	for _, tc := range []struct {
		name     string
		dns      string // replaces the example's dns block
		status   Status
		want     []string
		resolver string // instead of the simulator
	}{
		{name: "whole domain dropping MX records is refused", dns: "dns:\n  hetzner: {}\n", status: Failed,
			want: []string{"choir.example MX 10 mx1.mail.example.", "choir.example MX 20 mx2.mail.example.", "records_only"}},
		{name: "whole domain keeping them", dns: "dns:\n  hetzner:\n    records:\n      - { name: \"@\", type: MX, value: \"10 mx1.mail.example.\" }\n      - { name: \"@\", type: MX, value: \"20 mx2.mail.example.\" }\n", status: AlreadyThere},
		{name: "no resolver answering is a warning", dns: "dns:\n  hetzner: {}\n", status: Warning, resolver: "127.0.0.1:1",
			want: []string{"could not be looked at"}},
		{name: "records only names the hosts", dns: "dns:\n  records_only: {}\n", status: ToDo, want: []string{"vault.choir.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, _ := examples.Get("mail-and-web")
			s := string(data)
			s = s[:strings.Index(s, "dns:\n")] + tc.dns + s[strings.Index(s, "apps:\n"):]
			l, err := site.Load("site.yaml", []byte(s), catalog.Embedded())
			if err != nil {
				t.Fatal(err)
			}
			addr := dnssim.Start(t, live...).Addr
			if tc.resolver != "" {
				addr = tc.resolver
			}
			r := &runner{cfg: Config{Site: l, DNSResolver: addr}, rep: &Report{}}
			r.checkLiveDNS(context.Background())
			st := r.rep.Step(stepLiveDNS)
			if st.Status != tc.status {
				t.Fatalf("status %q, want %q: %+v", st.Status, tc.status, st)
			}
			for _, w := range tc.want {
				if !strings.Contains(st.Detail, w) {
					t.Errorf("detail lacks %q: %s", w, st.Detail)
				}
			}
		})
	}
}
