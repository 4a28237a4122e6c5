// Package dnssim is a DNS server for tests: it answers from records the test sets, on
// 127.0.0.1 (or a loopback address the test names) over UDP and TCP (the same port), as a recursive resolver would answer a
// client: CNAMEs are followed within its records, a name it has nothing at is NXDOMAIN.
package dnssim

import (
	"errors"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Server is a running DNS server.
type Server struct {
	Addr string // HOST:PORT, for UDP and TCP

	mu      sync.Mutex
	records []dns.RR
	queries int
}

// Start starts a server answering from records (zone-file lines with fully qualified
// names, e.g. "example.org. 300 IN MX 10 mx.mail.example.") and stops it at cleanup.
func Start(t testing.TB, records ...string) *Server {
	t.Helper()
	udp, tcp, err := listen()
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, udp, tcp, records)
}

// StartAt is Start on a given address, e.g. 127.2.0.53:53 for clients that only take a
// name server's address, like /etc/resolv.conf (port 53 needs root).
func StartAt(t testing.TB, addr string, records ...string) *Server {
	t.Helper()
	udp, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("dnssim: %v", err)
	}
	tcp, err := net.Listen("tcp", addr)
	if err != nil {
		udp.Close()
		t.Fatalf("dnssim: %v", err)
	}
	return serve(t, udp, tcp, records)
}

func serve(t testing.TB, udp net.PacketConn, tcp net.Listener, records []string) *Server {
	t.Helper()
	s := &Server{}
	s.Set(t, records...)
	s.Addr = udp.LocalAddr().String()
	servers := []*dns.Server{{PacketConn: udp, Handler: s}, {Listener: tcp, Handler: s}}
	for _, srv := range servers {
		go func() { _ = srv.ActivateAndServe() }()
	}
	t.Cleanup(func() {
		for _, srv := range servers {
			_ = srv.Shutdown()
		}
	})
	return s
}

// listen opens UDP and TCP on the same free port of 127.0.0.1.
func listen() (net.PacketConn, net.Listener, error) {
	var err error
	for range 20 {
		var udp net.PacketConn
		udp, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		var tcp net.Listener
		tcp, err = net.Listen("tcp", udp.LocalAddr().String())
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
	}
	return nil, nil, errors.Join(errors.New("no port free for both UDP and TCP"), err)
}

// Set replaces the server's records.
func (s *Server) Set(t testing.TB, records ...string) {
	t.Helper()
	var rrs []dns.RR
	for _, line := range records {
		rr, err := dns.NewRR(line)
		if err != nil || rr == nil {
			t.Fatalf("dnssim: record %q: %v", line, err)
		}
		rrs = append(rrs, rr)
	}
	s.mu.Lock()
	s.records = rrs
	s.mu.Unlock()
}

// Queries is how many questions the server answered.
func (s *Server) Queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries
}

// ServeDNS answers each question from the records.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	s.mu.Lock()
	s.queries++
	for _, q := range req.Question {
		answer, known := s.answer(strings.ToLower(q.Name), q.Qtype)
		m.Answer = append(m.Answer, answer...)
		if !known {
			m.Rcode = dns.RcodeNameError
		}
	}
	s.mu.Unlock()
	if w.LocalAddr().Network() == "udp" {
		// Too big for the client's UDP buffer: it must ask again over TCP.
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

// answer returns the records of a name and type, following CNAMEs (at most 8 hops), and
// whether the name exists at all (has records or names below it).
func (s *Server) answer(name string, qtype uint16) ([]dns.RR, bool) {
	var out []dns.RR
	exists := false
	for hop := range 8 {
		var found []dns.RR
		var cname *dns.CNAME
		for _, rr := range s.records {
			owner := strings.ToLower(rr.Header().Name)
			if hop == 0 && (owner == name || strings.HasSuffix(owner, "."+name)) {
				exists = true
			}
			if owner != name {
				continue
			}
			if rr.Header().Rrtype == qtype {
				found = append(found, dns.Copy(rr))
			} else if c, ok := rr.(*dns.CNAME); ok {
				cname = c
			}
		}
		out = append(out, found...)
		if len(found) > 0 || cname == nil {
			break
		}
		out = append(out, dns.Copy(cname))
		name = strings.ToLower(cname.Target)
	}
	return out, exists
}
