// Command release builds every camchain release artifact from one command
// (`make release`) and then checks them:
//
//   - static binaries (CGO off, stripped, version stamped) for linux
//     amd64, arm64 and armv7, and the agent also for mipsle softfloat;
//   - .deb packages of the hub and the agent (nfpm) with hardened systemd
//     units, their own users and data under /var/lib;
//   - a multi-arch OCI image of the hub as an OCI layout tarball, built
//     without a Docker engine (go-containerregistry), with a compose file
//     and a Home Assistant add-on definition that use it;
//   - an SPDX SBOM of every binary and SHA256SUMS of everything.
//
// It lives in its own module so that nfpm's and go-containerregistry's
// dependencies never enter the main module (and so never the binaries'
// dependency graph or go.sum reviews of the programs themselves).
//
//	go run . -out ../../dist                       # everything
//	go run . -out DIR -targets amd64 -skip image   # a subset (tests)
//	go run . -out DIR -check                        # check an existing dist
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	var (
		repo      = flag.String("repo", "../..", "the camchain source tree")
		out       = flag.String("out", "dist", "output directory (emptied first)")
		ver       = flag.String("version", "", "release version (default: from git describe)")
		targets   = flag.String("targets", "amd64,arm64,armv7,mipsle", "targets to build: "+strings.Join(targetNames(), ","))
		skip      = flag.String("skip", "", "comma-separated steps to leave out: deb, image")
		binsOnly  = flag.Bool("binaries-only", false, "build the binaries only (no packages, image, SBOM or sums)")
		agentOnly = flag.Bool("agent-only", false, "build only camchain-agent (with -binaries-only)")
		check     = flag.Bool("check", false, "only check the artifacts already in -out")
	)
	flag.Parse()
	if *check {
		if err := Check(*out); err != nil {
			fmt.Fprintf(os.Stderr, "release: check: %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("release: %s: every artifact checked\n", *out)
		return
	}
	ts, err := parseTargets(*targets)
	if err != nil {
		fmt.Fprintf(os.Stderr, "release: %v\n", err)
		os.Exit(2)
	}
	absRepo, err := filepath.Abs(*repo)
	if err != nil {
		fmt.Fprintf(os.Stderr, "release: %v\n", err)
		os.Exit(1)
	}
	v := *ver
	if v == "" {
		v = gitVersion(absRepo)
	}
	opts := Options{Repo: absRepo, Out: *out, Version: v, Targets: ts, BinariesOnly: *binsOnly, AgentOnly: *agentOnly}
	for _, s := range strings.Split(*skip, ",") {
		switch s {
		case "":
		case "deb":
			opts.SkipDeb = true
		case "image":
			opts.SkipImage = true
		default:
			fmt.Fprintf(os.Stderr, "release: -skip %q: want deb or image\n", s)
			os.Exit(2)
		}
	}
	if err := Build(opts, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "release: %v\n", err)
		os.Exit(1)
	}
	if opts.BinariesOnly {
		return
	}
	if err := Check(opts.Out); err != nil {
		fmt.Fprintf(os.Stderr, "release: check: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("release: %s: every artifact built and checked\n", opts.Out)
}
