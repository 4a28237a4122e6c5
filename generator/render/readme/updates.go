package readme

import (
	"fmt"
	"strings"

	"github.com/nassella/nassella/generator/site"
)

// UpdatesSection is the README's section on the site's update plan (generator/site/
// updates.go): what reaches the server by itself, what needs a pull request, and the one
// line that switches plans. It names no catalog release: a release that changes nothing
// of the site must leave the README as it is, or the bot would open a pull request for
// it (update.OnlyPinMoves). Which newer versions exist only the update bot (and a doctor
// run with a newer nassella) can say: no pull request refreshes this page on os-only.
func UpdatesSection(s *site.Loaded) string {
	u := s.Updates
	var b strings.Builder
	b.WriteString("## Updates\n\n")
	host := fmt.Sprintf("The server's operating system (Flatcar Container Linux) installs its own updates, security fixes included, and restarts in your maintenance window (%s, %s time), whatever your plan.", u.Window, u.Timezone)
	if u.OSOnly() {
		fmt.Fprintf(&b, "**Your plan: operating system updates only** (`plan: os-only` under `updates:` in `site.yaml`). %s\n\n", host)
		ask := site.NoSupport
		if s.Support != nil {
			ask = fmt.Sprintf("[%s](#who-to-ask)", s.Support.Name)
		}
		fmt.Fprintf(&b, "Your apps, the HTTPS proxy and the backup tool keep the versions listed above: no pull request brings newer ones, so their fixes, security fixes too, do not reach your server. "+
			"Each time the co-op releases newer versions, its update run notes which ones your site is missing, app by app (like \"Nextcloud 30.0.2 here, 31.0.1 available\"): ask %s for that list.\n\n", ask)
		b.WriteString("**To get every update**, change `plan: os-only` to `plan: full` in `site.yaml` (a one-line pull request). " +
			"The next update run then opens a pull request that brings all your apps to the newest tested versions.\n")
		return b.String()
	}
	fmt.Fprintf(&b, "**Your plan: all updates** (`plan: full` under `updates:` in `site.yaml`; it is the plan when the line is left out). %s\n\n", host)
	b.WriteString("Your apps run the versions listed above. Each newer release the co-op has tested comes as a pull request that says what changes, app by app; merging it installs it.\n\n")
	b.WriteString("**To keep your apps as they are** and get only the operating system's updates, set `plan: os-only` under `updates:` in `site.yaml`; changing it back to `full` later brings everything up to date in one pull request.\n")
	return b.String()
}
