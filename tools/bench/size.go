package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// agentTargets are the camera platforms the agent's size is measured for.
var agentTargets = []struct {
	name string   // row suffix
	env  []string // GOOS, GOARCH, …
}{
	{"linux_arm64", []string{"GOOS=linux", "GOARCH=arm64"}},
	{"linux_arm7", []string{"GOOS=linux", "GOARCH=arm", "GOARM=7"}},
}

func benchAgentSize(ctx context.Context, o *options) ([]Row, error) {
	tmp, err := os.MkdirTemp("", "camchain-bench-size-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, t := range agentTargets {
		agent, hello := filepath.Join(tmp, "camchain-agent-"+t.name), filepath.Join(tmp, "hello-"+t.name)
		o.Progress.Printf("   building camchain-agent and a hello world for %s", strings.Join(t.env, " "))
		if err := goBuild(ctx, wd, agent, "./cmd/camchain-agent", t.env); err != nil {
			return nil, err
		}
		if err := buildHello(ctx, tmp, hello, t.env); err != nil {
			return nil, err
		}
		a, err := os.Stat(agent)
		if err != nil {
			return nil, err
		}
		h, err := os.Stat(hello)
		if err != nil {
			return nil, err
		}
		rows = append(rows, NewRow("agent.size."+t.name, "MB", float64(a.Size())/1e6, "go.hello.size."+t.name, float64(h.Size())/1e6, AtMost(15),
			fmt.Sprintf("MB = 10^6 bytes; CGO_ENABLED=0 %s go build -trimpath -ldflags=\"-s -w\" ./cmd/camchain-agent; baseline: a hello-world Go program built the same way (Go's floor)",
				strings.Join(t.env, " "))))
	}
	return rows, nil
}
