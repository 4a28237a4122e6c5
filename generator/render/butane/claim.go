package butane

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/hostcontract"
)

// claimScript is the runner of every app's claim (site-template/host/nassella-claim.sh).
var claimScript = hostScript("nassella-claim")

// ClaimFile renders what the claim runner needs to know about app: where it answers,
// who its administrator is, and its claim steps as calls of the runner's step_exec and
// step_http. Every value is single-quoted: the file is sourced by the runner, and a
// site's values (its e-mail, its host name) must stay data. ${NAME} stays as it is, for
// the runner to fill in from the app's secrets.
func ClaimFile(in render.Input, app site.App) string {
	a := app.Spec
	cl := a.Claim // every catalog entry has one (the catalog check refuses an entry without)
	fill := func(s string) string { return Quote(render.Fill(s, in, app)) }
	var b strings.Builder
	b.WriteString(render.Header("#", in))
	fmt.Fprintf(&b, "# How %s gets its administrator; read by %s.\n", a.Title, hostcontract.ClaimScript)
	for _, kv := range [][2]string{
		{"title", Quote(a.Title)},
		{"host", Quote(app.Host)},
		{"login", fill(cl.Login)},
		{"password", Quote(cl.Password)},
		{"service", Quote(a.HTTP.Service)},
		{"port", strconv.Itoa(a.HTTP.Port)},
		{"health_path", Quote(a.Health.Path)},
		{"health_status", strconv.Itoa(a.Health.Status)},
	} {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	b.WriteString("steps() {\n")
	if len(cl.Steps) == 0 {
		b.WriteString("  : # the app creates its administrator from its environment\n")
	}
	for _, st := range cl.Steps {
		if e := st.Exec; e != nil {
			args := []string{"step_exec", Quote(e.Service), Quote(e.User)}
			for _, c := range e.Command {
				args = append(args, fill(c))
			}
			b.WriteString("  " + strings.Join(args, " ") + "\n")
			continue
		}
		h := st.HTTP
		args := []string{"step_http", h.Method, fill(h.Path)}
		var codes []string
		for _, s := range h.Status {
			codes = append(codes, strconv.Itoa(s))
		}
		args = append(args, "--status", Quote(strings.Join(codes, " ")))
		if h.JSON != "" {
			args = append(args, "--json", fill(h.JSON))
		}
		if h.Form != "" {
			args = append(args, "--form", fill(h.Form))
		}
		for _, k := range slices.Sorted(maps.Keys(h.Headers)) {
			args = append(args, "--header", fill(k+": "+h.Headers[k]))
		}
		if h.Expect != "" {
			args = append(args, "--expect", Quote(h.Expect))
		}
		if h.Repeat > 0 {
			args = append(args, "--repeat", strconv.Itoa(h.Repeat))
		}
		for _, k := range slices.Sorted(maps.Keys(h.Save)) {
			args = append(args, "--save", k, Quote(h.Save[k]))
		}
		b.WriteString("  " + strings.Join(args, " ") + "\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// claimUnit runs app's claim after the app's containers are up. Its marker on the volume
// makes it a no-op on later boots. Type=exec, not oneshot: multi-user.target orders
// itself after every unit it wants (systemd.target(5)), so a oneshot claim waiting for a
// slow first start would hold the boot "starting" for up to the runner's 45 minutes;
// the runner keeps its own time limit.
func claimUnit(app site.App) unit {
	return unit{Name: hostcontract.ClaimUnitName(app.Name), Enabled: enabled(), Contents: `[Unit]
Description=Create the administrator of ` + app.Spec.Title + ` before the proxy serves it
Requires=` + hostcontract.AppUnitName(app.Name) + `
After=` + hostcontract.AppUnitName(app.Name) + `
[Service]
Type=exec
RemainAfterExit=yes
ExecStart=` + hostcontract.ClaimScript + ` run ` + app.Name + `
[Install]
WantedBy=multi-user.target
`}
}

// claimFiles are the runner and each app's claim file.
func claimFiles(in render.Input) []File {
	files := []File{{Path: hostcontract.ClaimScript, Contents: claimScript, Mode: 0o755}}
	for _, app := range in.Site.Apps {
		files = append(files, File{Path: path.Join(hostcontract.AppsConfig, app.Name, hostcontract.ClaimFile), Contents: ClaimFile(in, app), Mode: 0o644})
	}
	return files
}
