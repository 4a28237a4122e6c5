package sitetemplate

// CIImage is the image every site workflow runs in, as the templates name it.
const CIImage = "ghcr.io/nassella/ci:0.1.0"

// CIImageDigest pins CIImage (sha256:…) once the release's image is pushed: the one place
// it is set. The generated workflows then run in CIImage@CIImageDigest, so a re-pushed tag
// cannot change what runs with the site's secrets; while it is empty they use the tag.
const CIImageDigest = ""
