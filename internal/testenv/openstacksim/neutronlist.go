package openstacksim

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// pickFields keeps the attributes a query's fields ask for, all when it asks for none.
func pickFields(item map[string]any, fields []string) map[string]any {
	if len(fields) == 0 {
		return item
	}
	out := map[string]any{}
	for _, f := range fields {
		if v, ok := item[f]; ok {
			out[f] = v
		}
	}
	return out
}

// neutronList answers a list: Neutron filters on any attribute given in the query
// (several values of one attribute are alternatives), on tags with tags, tags-any,
// not-tags and not-tags-any, sorts by sort_key/sort_dir and pages with limit and marker
// (api-ref network v2, "Filtering", "Sorting", "Pagination"). An attribute the resource
// does not have is refused, as the filter-validation extension does.
func (s *Server) neutronList(r *http.Request, collection string, items []map[string]any) (int, any, error) {
	q := r.URL.Query()
	var out []map[string]any
	for _, item := range items {
		ok, err := matches(item, q)
		if err != nil {
			return 0, nil, err
		}
		if ok {
			out = append(out, item)
		}
	}
	if keys := q["sort_key"]; len(keys) > 0 {
		dirs := q["sort_dir"]
		slices.SortStableFunc(out, func(a, b map[string]any) int {
			for i, k := range keys {
				c := cmp.Compare(fmt.Sprint(a[k]), fmt.Sprint(b[k]))
				if i < len(dirs) && dirs[i] == "desc" {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
	}
	if m := q.Get("marker"); m != "" {
		i := slices.IndexFunc(out, func(it map[string]any) bool { return it["id"] == m })
		if i < 0 {
			return 0, nil, errf(http.StatusNotFound, "", "Marker %s could not be found.", m)
		}
		out = out[i+1:]
	}
	body := map[string]any{}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return 0, nil, errf(http.StatusBadRequest, "BadRequest", "Bad limit request: Limit must be an integer 0 or greater and not '%s'.", l)
		}
		if n > 0 && len(out) > n {
			out = out[:n]
			next := url.Values{}
			for k, v := range q {
				next[k] = v
			}
			next.Set("marker", fmt.Sprint(out[n-1]["id"]))
			body[collection+"_links"] = []any{map[string]any{"rel": "next", "href": s.URL() + r.URL.Path + "?" + next.Encode()}}
		}
	}
	list := []any{}
	for _, it := range out {
		list = append(list, pickFields(it, q["fields"]))
	}
	body[collection] = list
	return http.StatusOK, body, nil
}

var listParams = []string{"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse", "tags", "tags-any", "not-tags", "not-tags-any"}

func matches(item map[string]any, q url.Values) (bool, error) {
	tags, _ := item["tags"].([]string)
	for key, vals := range q {
		switch key {
		case "tags", "tags-any", "not-tags", "not-tags-any":
			var want []string
			for _, v := range vals {
				want = append(want, strings.Split(v, ",")...)
			}
			all, anyOf := true, false
			for _, t := range want {
				if slices.Contains(tags, t) {
					anyOf = true
				} else {
					all = false
				}
			}
			if (key == "tags" && !all) || (key == "tags-any" && !anyOf) || (key == "not-tags" && all) || (key == "not-tags-any" && anyOf) {
				return false, nil
			}
			continue
		case "fixed_ips":
			if !matchFixedIPs(item, vals) {
				return false, nil
			}
			continue
		}
		if slices.Contains(listParams, key) {
			continue
		}
		v, ok := item[key]
		if !ok {
			return false, errf(http.StatusBadRequest, "HTTPBadRequest", "[%s] is invalid attribute for filtering", strconv.Quote(key))
		}
		if !slices.ContainsFunc(vals, func(want string) bool { return valueMatches(v, want) }) {
			return false, nil
		}
	}
	return true, nil
}

func valueMatches(v any, want string) bool {
	switch t := v.(type) {
	case nil:
		return want == "" || want == "None"
	case bool:
		b, err := strconv.ParseBool(strings.ToLower(want))
		return err == nil && b == t
	case []string:
		return slices.Contains(t, want)
	}
	return fmt.Sprint(v) == want
}

// matchFixedIPs is the ports filter fixed_ips=ip_address=X or fixed_ips=subnet_id=Y.
func matchFixedIPs(item map[string]any, vals []string) bool {
	ips, _ := item["fixed_ips"].([]any)
	for _, v := range vals {
		k, want, _ := strings.Cut(v, "=")
		found := false
		for _, ip := range ips {
			m := ip.(map[string]any)
			if fmt.Sprint(m[k]) == want || (k == "ip_address_substr" && strings.Contains(fmt.Sprint(m["ip_address"]), want)) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
