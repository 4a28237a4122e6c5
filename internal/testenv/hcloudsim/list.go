package hcloudsim

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

const (
	defaultPerPage = 25
	maxPerPage     = 50
)

type pagination struct {
	Page         int  `json:"page"`
	PerPage      int  `json:"per_page"`
	PreviousPage *int `json:"previous_page"`
	NextPage     *int `json:"next_page"`
	LastPage     *int `json:"last_page"`
	TotalEntries *int `json:"total_entries"`
}

type listMeta struct {
	Pagination pagination `json:"pagination"`
}

// paginate returns the requested page of items with its meta object, and sets the
// Link header pointing at the neighbouring pages.
func paginate[T any](w http.ResponseWriter, r *http.Request, items []T) ([]T, listMeta, error) {
	q := r.URL.Query()
	page, perPage := 1, defaultPerPage
	var f fieldErrors
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			f.add("page", "must be a positive integer")
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			f.add("per_page", "must be a positive integer")
		}
		perPage = min(n, maxPerPage)
	}
	if err := f.err(); err != nil {
		return nil, listMeta{}, err
	}

	total := len(items)
	last := max(1, (total+perPage-1)/perPage)
	p := pagination{Page: page, PerPage: perPage, LastPage: &last, TotalEntries: &total}
	if page > 1 {
		prev := min(page-1, last)
		p.PreviousPage = &prev
	}
	if page < last {
		next := page + 1
		p.NextPage = &next
	}

	var links []string
	link := func(n int, rel string) {
		u := *r.URL
		v := u.Query()
		v.Set("page", strconv.Itoa(n))
		v.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = v.Encode()
		links = append(links, fmt.Sprintf("<%s>; rel=%q", u.RequestURI(), rel))
	}
	if p.PreviousPage != nil {
		link(*p.PreviousPage, "prev")
	}
	if p.NextPage != nil {
		link(*p.NextPage, "next")
	}
	link(last, "last")
	w.Header().Set("Link", strings.Join(links, ", "))

	start := min((page-1)*perPage, total)
	end := min(start+perPage, total)
	return items[start:end], listMeta{Pagination: p}, nil
}

// sortKeys maps the sort fields a list accepts to comparisons of two items.
type sortKeys[T any] map[string]func(a, b T) int

// sortList orders items by the sort query parameters ("field" or "field:asc" or
// "field:desc", repeatable), after ordering them by ID.
func sortList[T any](q url.Values, items []T, keys sortKeys[T]) error {
	slices.SortStableFunc(items, keys["id"])
	type order struct {
		cmp  func(a, b T) int
		desc bool
	}
	var orders []order
	for _, v := range q["sort"] {
		field, dir, _ := strings.Cut(v, ":")
		c, ok := keys[field]
		if !ok || (dir != "" && dir != "asc" && dir != "desc") {
			return invalidInput("sort", "invalid sort value %q", v)
		}
		orders = append(orders, order{cmp: c, desc: dir == "desc"})
	}
	if len(orders) == 0 {
		return nil
	}
	slices.SortStableFunc(items, func(a, b T) int {
		for _, o := range orders {
			if c := o.cmp(a, b); c != 0 {
				if o.desc {
					return -c
				}
				return c
			}
		}
		return 0
	})
	return nil
}

func byID[T any](id func(T) int64) func(a, b T) int {
	return func(a, b T) int { return cmp.Compare(id(a), id(b)) }
}

func byString[T any](f func(T) string) func(a, b T) int {
	return func(a, b T) int { return cmp.Compare(f(a), f(b)) }
}

// statusFilter filters a list by the repeatable status query parameter.
func statusFilter[T any](status func(T) string) func(url.Values) (func(T) bool, error) {
	return func(q url.Values) (func(T) bool, error) {
		statuses := q["status"]
		return func(v T) bool { return len(statuses) == 0 || slices.Contains(statuses, status(v)) }, nil
	}
}

// selector is a parsed label selector; a resource matches when it matches every
// requirement.
type selector []requirement

type requirement struct {
	key    string
	op     string // "=", "!=", "exists", "!exists", "in", "notin"
	values []string
}

// parseSelector parses the label selector language: "k=v", "k==v", "k!=v", "k",
// "!k", "k in (v1,v2)" and "k notin (v1,v2)", joined by commas.
func parseSelector(s string) (selector, error) {
	var sel selector
	for _, part := range splitSelector(s) {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("empty requirement in %q", s)
		}
		req, err := parseRequirement(part)
		if err != nil {
			return nil, err
		}
		sel = append(sel, req)
	}
	return sel, nil
}

// splitSelector splits at the commas that are not inside parentheses.
func splitSelector(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var parts []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

var setRequirement = regexp.MustCompile(`^(\S+)\s+(in|notin)\s*\((.*)\)$`)

func parseRequirement(part string) (requirement, error) {
	if m := setRequirement.FindStringSubmatch(part); m != nil {
		if err := validLabelKey(m[1]); err != nil {
			return requirement{}, err
		}
		var values []string
		for _, v := range strings.Split(m[3], ",") {
			v = strings.TrimSpace(v)
			if err := validLabelValue(v); err != nil {
				return requirement{}, err
			}
			values = append(values, v)
		}
		return requirement{key: m[1], op: m[2], values: values}, nil
	}
	if strings.ContainsAny(part, "()") {
		return requirement{}, fmt.Errorf("invalid requirement %q", part)
	}
	for _, op := range []string{"!=", "==", "="} {
		if k, v, ok := strings.Cut(part, op); ok {
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if err := validLabelKey(k); err != nil {
				return requirement{}, err
			}
			if err := validLabelValue(v); err != nil {
				return requirement{}, err
			}
			if op == "==" {
				op = "="
			}
			return requirement{key: k, op: op, values: []string{v}}, nil
		}
	}
	op := "exists"
	key := part
	if rest, ok := strings.CutPrefix(part, "!"); ok {
		op, key = "!exists", strings.TrimSpace(rest)
	}
	if err := validLabelKey(key); err != nil {
		return requirement{}, err
	}
	return requirement{key: key, op: op}, nil
}

func (sel selector) matches(labels map[string]string) bool {
	for _, req := range sel {
		v, ok := labels[req.key]
		var match bool
		switch req.op {
		case "=":
			match = ok && v == req.values[0]
		case "!=":
			match = !ok || v != req.values[0]
		case "exists":
			match = ok
		case "!exists":
			match = !ok
		case "in":
			match = ok && slices.Contains(req.values, v)
		case "notin":
			match = !ok || !slices.Contains(req.values, v)
		}
		if !match {
			return false
		}
	}
	return true
}

// listFilter holds the filters common to list endpoints: name and label_selector.
type listFilter struct {
	name     string
	selector selector
}

func parseListFilter(q url.Values) (listFilter, error) {
	f := listFilter{name: q.Get("name")}
	if v := q.Get("label_selector"); v != "" {
		sel, err := parseSelector(v)
		if err != nil {
			return f, invalidInput("label_selector", "%v", err)
		}
		f.selector = sel
	}
	return f, nil
}

func (f listFilter) matches(name string, labels map[string]string) bool {
	if f.name != "" && f.name != name {
		return false
	}
	return f.selector.matches(labels)
}

var (
	labelName   = regexp.MustCompile(`^[a-zA-Z0-9]([-_.a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$`)
	labelPrefix = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// validLabelKey checks a label key: an optional DNS subdomain prefix and a slash,
// then a name of up to 63 characters.
func validLabelKey(key string) error {
	prefix, name, hasPrefix := strings.Cut(key, "/")
	if !hasPrefix {
		name, prefix = prefix, ""
	}
	if !labelName.MatchString(name) {
		return fmt.Errorf("invalid label key %q", key)
	}
	if hasPrefix {
		if len(prefix) > 253 || !labelPrefix.MatchString(prefix) {
			return fmt.Errorf("invalid label key prefix %q", prefix)
		}
		if prefix == "hetzner.cloud" || strings.HasSuffix(prefix, ".hetzner.cloud") {
			return fmt.Errorf("label key prefix %q is reserved", prefix)
		}
	}
	return nil
}

// validLabelValue checks a label value: empty, or up to 63 characters.
func validLabelValue(v string) error {
	if v != "" && !labelName.MatchString(v) {
		return fmt.Errorf("invalid label value %q", v)
	}
	return nil
}

// checkLabels validates a labels object into f and returns a copy (never nil).
func checkLabels(f *fieldErrors, labels *map[string]string) map[string]string {
	out := map[string]string{}
	if labels == nil {
		return out
	}
	for k, v := range *labels {
		if err := validLabelKey(k); err != nil {
			f.add("labels", "%v", err)
			continue
		}
		if err := validLabelValue(v); err != nil {
			f.add("labels", "%v", err)
			continue
		}
		out[k] = v
	}
	return out
}

func copyLabels(labels map[string]string) map[string]string {
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		out[k] = v
	}
	return out
}

// pathID parses the {id} path value.
func pathID(r *http.Request, kind string) (int64, error) {
	v := r.PathValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return 0, invalidInput("id", "%q is not a valid %s ID", v, kind)
	}
	return id, nil
}

// queryIDs parses a repeatable numeric query parameter.
func queryIDs(q url.Values, name string) ([]int64, error) {
	var ids []int64
	for _, v := range q[name] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, invalidInput(name, "%q is not a valid ID", v)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
