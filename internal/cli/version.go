package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// Version is the program version. It may be set at build time with
// -ldflags "-X github.com/switchboard/switchboard/internal/cli.Version=...";
// when it is left empty, the module version that the go command stamps
// into the binary is used (a tag, or a pseudo-version for a VCS checkout).
var Version = ""

// BuildTime is when the binary was built, set at build time with
// -ldflags "-X github.com/switchboard/switchboard/internal/cli.BuildTime=..."
// (make build does). The go command records no build time by itself.
var BuildTime = ""

// versionInfo is what `switchboard version` prints.
type versionInfo struct {
	version   string // module version, or "dev"
	revision  string // VCS revision, "" when unknown
	modified  bool   // the working tree had local changes
	committed string // VCS commit time (RFC 3339), "" when unknown
	built     string // BuildTime
	goVersion string
}

// readVersion collects the version from Version, BuildTime and
// runtime/debug.ReadBuildInfo.
func readVersion() versionInfo {
	v := versionInfo{version: Version, built: BuildTime, goVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.revision = s.Value
			case "vcs.time":
				v.committed = s.Value
			case "vcs.modified":
				v.modified = s.Value == "true"
			}
		}
	}
	if v.version == "" {
		v.version = "dev"
	}
	return v
}

func (v versionInfo) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "switchboard %s\n", v.version)
	if v.revision != "" {
		fmt.Fprintf(&b, "  revision  %s", v.revision)
		if v.modified {
			b.WriteString(" (with uncommitted changes)")
		}
		b.WriteByte('\n')
	} else {
		b.WriteString("  revision  unknown (not recorded: built with go run, with -buildvcs=false, or outside a git clone)\n")
	}
	if v.committed != "" {
		fmt.Fprintf(&b, "  committed %s\n", v.committed)
	}
	if v.built != "" {
		fmt.Fprintf(&b, "  built     %s\n", v.built)
	}
	fmt.Fprintf(&b, "  go        %s %s/%s\n", v.goVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}

func printVersion(w io.Writer) {
	io.WriteString(w, readVersion().String())
}
