package hcloudsim

import (
	"fmt"
	"net/http"
	"slices"
)

// rrsetRoutes serves the RRSets of a zone, which are addressed by name and type.
func (s *Server) rrsetRoutes() {
	s.handle("GET /v1/zones/{id}/rrsets", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		z, err := s.zones.fromPath(r)
		if err != nil {
			return 0, nil, err
		}
		q := r.URL.Query()
		f, err := parseListFilter(q)
		if err != nil {
			return 0, nil, err
		}
		types := q["type"]
		var list []*rrset
		for _, rr := range z.rrsets {
			if f.matches(rr.name, rr.labels) && (len(types) == 0 || slices.Contains(types, rr.typ)) {
				list = append(list, rr)
			}
		}
		body, err := answerList(w, r, "rrsets", list, sortKeys[*rrset]{
			"id":   byString(func(rr *rrset) string { return rr.id() }),
			"name": byString(func(rr *rrset) string { return rr.name }),
			"type": byString(func(rr *rrset) string { return rr.typ }),
		}, func(rr *rrset) any { return rr.json() })
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, body, nil
	})

	s.handle("POST /v1/zones/{id}/rrsets", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		z, err := s.zones.fromPath(r)
		if err != nil {
			return 0, nil, err
		}
		var req rrsetRequest
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		if z.mode != "primary" {
			return 0, nil, errCode(http.StatusUnprocessableEntity, "dns_zone_is_secondary_zone", fmt.Sprintf("zone %s is a secondary zone", z.name))
		}
		var f fieldErrors
		checkNewRRSet(&f, z, req.Name, req.Type, req.TTL, req.Records)
		labels := checkLabels(&f, req.Labels)
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		if z.rrset(req.Name, req.Type) != nil {
			return 0, nil, errUniqueness("name", fmt.Sprintf("RRSet %s/%s already exists in zone %s", req.Name, req.Type, z.name))
		}
		rr := &rrset{zone: z, name: req.Name, typ: req.Type, ttl: req.TTL, labels: labels, records: slices.Clone(req.Records)}
		z.rrsets = append(z.rrsets, rr)
		z.bump()
		a := s.startAction("create_rrset", nil, ref("zone", z.id))
		return http.StatusCreated, map[string]any{"rrset": rr.json(), "action": s.renderAction(a)}, nil
	})

	// GET answers an RRSet; PUT sets its labels first.
	for _, method := range []string{"GET", "PUT"} {
		s.handle(method+" /v1/zones/{id}/rrsets/{name}/{type}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
			_, rr, err := s.rrsetFromPath(r)
			if err == nil && r.Method == http.MethodPut {
				err = updateLabels(r, &rr.labels)
			}
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, map[string]any{"rrset": rr.json()}, nil
		})
	}

	s.handle("DELETE /v1/zones/{id}/rrsets/{name}/{type}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		z, rr, err := s.rrsetFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		switch {
		case rr.changeProtection:
			return 0, nil, errProtected(fmt.Sprintf("RRSet %s is change protected", rr.id()))
		case rr.name == "@" && (rr.typ == "SOA" || rr.typ == "NS"):
			return 0, nil, errCode(http.StatusUnprocessableEntity, "invalid_input", "the SOA and NS RRSets of the zone apex cannot be deleted")
		}
		z.rrsets = slices.DeleteFunc(z.rrsets, func(other *rrset) bool { return other == rr })
		z.bump()
		a := s.startAction("delete_rrset", nil, ref("zone", z.id))
		return http.StatusOK, map[string]any{"action": s.renderAction(a)}, nil
	})

	s.handle("POST /v1/zones/{id}/rrsets/{name}/{type}/actions/{action}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		z, rr, err := s.rrsetFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		return s.rrsetAction(z, rr, r.PathValue("action"), r)
	})
}

func (s *Server) rrsetAction(z *zone, rr *rrset, name string, r *http.Request) (int, any, error) {
	if !slices.Contains([]string{"change_protection", "change_ttl", "set_records", "add_records", "remove_records"}, name) {
		return 0, nil, errCode(http.StatusNotFound, "not_found", fmt.Sprintf("RRSet action %q not found", name))
	}
	if name != "change_protection" && rr.changeProtection {
		return 0, nil, errProtected(fmt.Sprintf("RRSet %s is change protected", rr.id()))
	}
	if name != "change_protection" && rr.typ == "SOA" {
		return 0, nil, invalidInput("type", "SOA records are managed by the API")
	}
	zoneID, rrName, rrType := z.id, rr.name, rr.typ
	// effect runs fn on the RRSet if it still exists, and bumps the zone's serial.
	effect := func(fn func(z *zone, rr *rrset)) func() *actionFailure {
		return s.zones.must(zoneID, func(z *zone) *actionFailure {
			rr := z.rrset(rrName, rrType)
			if rr == nil {
				return &actionFailure{"rrset_not_found", fmt.Sprintf("RRSet %s/%s no longer exists", rrName, rrType)}
			}
			fn(z, rr)
			return nil
		})
	}
	created := s.actionStarted

	switch name {
	case "change_protection":
		var req struct {
			Change *bool `json:"change"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		return created(s.startAction("change_rrset_protection", effect(func(_ *zone, rr *rrset) {
			if req.Change != nil {
				rr.changeProtection = *req.Change
			}
		}), ref("zone", zoneID)))

	case "change_ttl":
		var req struct {
			TTL *int `json:"ttl"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		var f fieldErrors
		checkTTL(&f, "ttl", req.TTL)
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		return created(s.startAction("change_rrset_ttl", effect(func(z *zone, rr *rrset) {
			rr.ttl = req.TTL
			z.bump()
		}), ref("zone", zoneID)))

	case "set_records", "add_records":
		var req struct {
			Records []record `json:"records"`
			TTL     *int     `json:"ttl"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		records := slices.Clone(req.Records)
		if name == "add_records" {
			records = slices.Clone(rr.records)
			for _, rec := range req.Records {
				if !slices.ContainsFunc(records, func(have record) bool { return have.Value == rec.Value }) {
					records = append(records, rec)
				}
			}
		}
		var f fieldErrors
		checkRecords(&f, rr.typ, records)
		checkTTL(&f, "ttl", req.TTL)
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		command := "set_rrset_records"
		if name == "add_records" {
			command = "add_rrset_records"
		}
		ttl := req.TTL
		return created(s.startAction(command, effect(func(z *zone, rr *rrset) {
			rr.records = records
			if name == "add_records" && ttl != nil {
				rr.ttl = ttl
			}
			z.bump()
		}), ref("zone", zoneID)))

	default: // remove_records
		var req struct {
			Records []record `json:"records"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		if len(req.Records) == 0 {
			return 0, nil, invalidInput("records", "must not be empty")
		}
		remaining := slices.DeleteFunc(slices.Clone(rr.records), func(have record) bool {
			return slices.ContainsFunc(req.Records, func(rec record) bool { return rec.Value == have.Value })
		})
		return created(s.startAction("remove_rrset_records", effect(func(z *zone, rr *rrset) {
			rr.records = remaining
			if len(remaining) == 0 {
				z.rrsets = slices.DeleteFunc(z.rrsets, func(other *rrset) bool { return other == rr })
			}
			z.bump()
		}), ref("zone", zoneID)))
	}
}
