// Command coldstart measures the router's cold start as Lambda would see it:
// it builds bootstrap with the Lambda flags for this machine, seeds moto with
// infra/config.events.yaml, then, for each run, starts a fresh bootstrap process
// against a loopback Lambda Runtime API with one invocation (events/chat.json)
// waiting, and times process start to the first poll (the init phase) and to
// the first answer fully received. With -against it alternates, run by run,
// with another bootstrap (an older build, say), so both are measured on the
// same machine under the same load.
//
//	go run ./scripts/coldstart [-n 30] [-event events/chat.json] [-against OLD_BOOTSTRAP]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/awstest"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/store/dynamo"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("n", 30, "cold starts to measure")
	eventFile := flag.String("event", "events/chat.json", "event of the first invocation")
	cfgFile := flag.String("config", "infra/config.events.yaml", "configuration seeded into moto")
	against := flag.String("against", "", "another bootstrap binary to measure in alternation with this tree's")
	flag.Parse()
	ctx := context.Background()

	dir, err := os.MkdirTemp("", "coldstart-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", bin, "./functions/router")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	payload, err := os.ReadFile(*eventFile)
	if err != nil {
		return err
	}
	cfg, err := config.LoadFile(*cfgFile)
	if err != nil {
		return err
	}

	moto, err := awstest.Launch(ctx)
	if err != nil {
		return err
	}
	defer moto.Close()
	db := dynamodb.NewFromConfig(moto.Config())
	if err := dynamo.CreateTables(ctx, db, dynamo.DefaultConfigTable, dynamo.DefaultStateTable); err != nil {
		return err
	}
	if _, err := dynamo.WriteConfig(ctx, db, dynamo.DefaultConfigTable, dynamo.DefaultConfigName, cfg, time.Now()); err != nil {
		return err
	}

	bins := []string{bin}
	if *against != "" {
		bins = append(bins, *against)
	}
	inits, firsts := make([][]time.Duration, len(bins)), make([][]time.Duration, len(bins))
	for i := 0; i < *n; i++ {
		for j, b := range bins {
			initD, firstD, err := once(ctx, b, moto.Env(), payload)
			if err != nil {
				return fmt.Errorf("%s, run %d: %w", b, i+1, err)
			}
			inits[j] = append(inits[j], initD)
			firsts[j] = append(firsts[j], firstD)
		}
	}
	fmt.Printf("runs: %d, config from moto_server (DynamoDB), first event %s\n", *n, *eventFile)
	for j, b := range bins {
		info, err := os.Stat(b)
		if err != nil {
			return err
		}
		name := "this tree's bootstrap"
		if j > 0 {
			name = b
		}
		fmt.Printf("%s, %s/%s: %.1f MB (%d bytes)\n", name, goEnv("GOOS"), goEnv("GOARCH"), float64(info.Size())/1e6, info.Size())
		report("  process start -> first poll (init)", inits[j])
		report("  process start -> first answer received", firsts[j])
	}
	return nil
}

// once starts one process with its first invocation already queued.
func once(ctx context.Context, bin string, env []string, payload []byte) (initD, firstD time.Duration, err error) {
	rt, err := awstest.NewRuntimeAPI()
	if err != nil {
		return 0, 0, err
	}
	defer rt.Close()
	inv := rt.Invoke(payload, time.Minute)
	cmd := exec.Command(bin)
	cmd.Env = append(env, "AWS_LAMBDA_RUNTIME_API="+rt.Addr, "ROUTER_STREAMING=0",
		"AWS_LAMBDA_FUNCTION_NAME=llm-router-RouterFunction", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024")
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = nil, &stderr
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	_, body, err := inv.Result(ctx)
	done := time.Now()
	if err != nil {
		return 0, 0, fmt.Errorf("%w\n%s", err, stderr.String())
	}
	if !strings.Contains(string(body), `"statusCode":200`) {
		return 0, 0, errors.New("first answer is not a 200: " + string(body))
	}
	taken, err := inv.Taken(ctx)
	if err != nil {
		return 0, 0, err
	}
	return taken.Sub(start), done.Sub(start), nil
}

func report(name string, ds []time.Duration) {
	slices.Sort(ds)
	pct := func(p float64) time.Duration { return ds[int(p*float64(len(ds)-1))] }
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	fmt.Printf("%-42s min %s  median %s  p90 %s  max %s\n", name+":", ms(ds[0]), ms(pct(0.5)), ms(pct(0.9)), ms(ds[len(ds)-1]))
}

func goEnv(k string) string {
	out, err := exec.Command("go", "env", k).Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}
