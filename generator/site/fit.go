package site

// For nassella console, which checks before saving whether an app fits the server and
// offers the smallest type that does, from the same built-in list the load checks with.

// LookupServerType returns the built-in facts about a Hetzner server type.
func LookupServerType(name string) (ServerType, bool) { return serverType(name) }

// SmallestFitting is the smallest current server type of the same family as name (cx,
// cpx, ccx) with at least needMB of memory, as the load's memory check suggests it.
func SmallestFitting(name string, needMB int) (ServerType, bool) {
	return smallestCurrent(family(name), needMB)
}

// CurrentServerTypes are the types a site may choose, smallest first within each family.
func CurrentServerTypes() []ServerType {
	var out []ServerType
	for _, t := range hetznerServerTypes {
		if !t.Gone {
			out = append(out, t)
		}
	}
	return out
}
