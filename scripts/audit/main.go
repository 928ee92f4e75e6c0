// Command audit answers an auditor's questions from the DynamoDB audit table
// (ROUTER_AUDIT_TABLE, template parameter AuditTable=true):
//
//	go run ./scripts/audit request REQUEST_ID
//	    which model and provider handled the request, and why: its route,
//	    data class, required compliance tags, every attempt and its outcome
//	go run ./scripts/audit key -key KEY_ID -day 2026-03-14 [-provider P]
//	    every request of the key on that day (UTC), oldest first; with
//	    -provider, only those with an attempt sent to P, served there or not
//	go run ./scripts/audit create-table
//	    creates the table if it is missing (moto, DynamoDB Local; in AWS the
//	    template creates it)
//
// Every command takes -table (default $ROUTER_AUDIT_TABLE) and -json, which
// prints the records as the router's own audit lines (docs/API.md),
// one per line. Records hold no prompt or completion text and no key.
// AWS_ENDPOINT_URL points it at an emulator.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/llm-router/router/shared/awshttp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/audit/audittable"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, nil, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "audit:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  audit request REQUEST_ID                         which model handled a request, and why
  audit key -key KEY_ID -day YYYY-MM-DD [-provider P]   a key's requests of a day (UTC)
  audit create-table                               create the table (local emulators)
flags of every command: -table NAME (default $ROUTER_AUDIT_TABLE), -json`

// run is the command. awsCfg, when set, replaces the SDK's default
// configuration chain (tests point it at moto).
func run(ctx context.Context, args []string, env func(string) (string, bool), awsCfg *aws.Config, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errors.New("no command")
	}
	cmd := args[0]
	fs := flag.NewFlagSet("audit "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	defTable, _ := env("ROUTER_AUDIT_TABLE")
	table := fs.String("table", defTable, "audit table (ROUTER_AUDIT_TABLE)")
	asJSON := fs.Bool("json", false, "print the records as audit lines (JSON), one per line")
	key := fs.String("key", "", "key id (key)")
	dayFlag := fs.String("day", "", "day in UTC, YYYY-MM-DD (key)")
	provider := fs.String("provider", "", "only requests with an attempt sent to this provider (key)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *table == "" {
		return errors.New("no table: set -table or ROUTER_AUDIT_TABLE")
	}
	cfg, err := awshttp.Config(ctx, awsCfg)
	if err != nil {
		return err
	}
	awsCfg = &cfg
	db := dynamodb.NewFromConfig(*awsCfg)

	switch cmd {
	case "request":
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, usage)
			return errors.New("request takes one request id")
		}
		r, err := audittable.Get(ctx, db, *table, fs.Arg(0))
		if err != nil {
			return err
		}
		if *asJSON {
			_, err = stdout.Write(append(r.AppendJSON(nil), '\n'))
			return err
		}
		return describe(stdout, r)
	case "key":
		if *key == "" || *dayFlag == "" || fs.NArg() != 0 {
			fmt.Fprintln(stderr, usage)
			return errors.New("key needs -key and -day")
		}
		day, err := time.Parse(time.DateOnly, *dayFlag)
		if err != nil {
			return fmt.Errorf("-day %q: want YYYY-MM-DD", *dayFlag)
		}
		rs, err := audittable.KeyDay(ctx, db, *table, *key, day, *provider)
		if err != nil {
			return err
		}
		if *asJSON {
			var out []byte
			for i := range rs {
				out = append(rs[i].AppendJSON(out), '\n')
			}
			_, err = stdout.Write(out)
			return err
		}
		return list(stdout, rs, *key, *dayFlag, *provider)
	case "create-table":
		if err := audittable.CreateTable(ctx, db, *table); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "table %s is ready\n", *table)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// describe writes one request's record for a reader.
func describe(w io.Writer, r *audit.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "request   %s at %s, key %s", r.RequestID, r.Time.UTC().Format(time.RFC3339Nano), orDash(r.KeyID))
	if r.Endpoint != "" {
		fmt.Fprintf(&b, ", %s", r.Endpoint)
	}
	if r.Stream {
		b.WriteString(", streamed")
	}
	fmt.Fprintf(&b, "\nroute     %s, data class %s, required compliance %s", orDash(r.Route), orDash(r.DataClass), tags(r.Require))
	if r.DowngradedFrom != "" {
		fmt.Fprintf(&b, " (moved from %s by a budget rule)", r.DowngradedFrom)
	}
	b.WriteString("\n")
	if r.Model != "" {
		fmt.Fprintf(&b, "served by %s on %s (upstream model %s; provider compliance %s)\n",
			r.Model, r.Provider, r.UpstreamModel, tags(r.ProviderCompliance))
	} else {
		b.WriteString("served by no model\n")
	}
	fmt.Fprintf(&b, "status    %d", r.Status)
	if r.ErrorCode != "" {
		fmt.Fprintf(&b, " (%s)", r.ErrorCode)
	}
	if r.Limit != "" {
		fmt.Fprintf(&b, ", refused by the %s limit", r.Limit)
	}
	fmt.Fprintf(&b, ", %s ms, first byte %s ms\n", num(r.LatencyMs), num(r.TTFBMs))
	fmt.Fprintf(&b, "usage     %d prompt tokens (%d cached, %d cache write), %d completion tokens; cost %s USD",
		r.Usage.PromptTokens, r.Usage.CachedTokens, r.Usage.CacheWriteTokens, r.Usage.CompletionTokens, num(r.CostUSD))
	if r.UsageMissing {
		b.WriteString(" (the stream reported no usage: cost unknown)")
	}
	b.WriteString("\nattempts\n")
	for i, a := range r.Attempts {
		fmt.Fprintf(&b, "  %d. %s on %s: %s, status %d, %s ms\n", i+1, a.Model, a.Provider, a.Outcome, a.Status, num(a.LatencyMs))
	}
	if len(r.Attempts) == 0 {
		b.WriteString("  none (refused before any provider was called)\n")
	}
	if len(r.Tags) > 0 {
		var kv []string
		for k, v := range r.Tags {
			kv = append(kv, k+"="+v)
		}
		slices.Sort(kv)
		fmt.Fprintf(&b, "tags      %s\n", strings.Join(kv, " "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// list writes a key's requests of a day as a table, with a total.
func list(w io.Writer, rs []audit.Record, key, day, provider string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\tREQUEST\tROUTE\tDATA CLASS\tMODEL\tPROVIDER\tATTEMPTED\tSTATUS\tCOST USD")
	var total float64
	for _, r := range rs {
		var tried []string
		for _, a := range r.Attempts {
			tried = append(tried, a.Provider)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Time.UTC().Format("15:04:05.000"), r.RequestID, orDash(r.Route),
			orDash(r.DataClass), orDash(r.Model), orDash(r.Provider), orDash(strings.Join(tried, ">")), r.Status, num(r.CostUSD))
		total += r.CostUSD
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	scope := "key " + key + " on " + day
	if provider != "" {
		scope += " with an attempt sent to " + provider
	}
	// Rounded as the router rounds a request's cost, to keep float noise out.
	_, err := fmt.Fprintf(w, "%d requests of %s; cost %s USD\n", len(rs), scope, num(math.Round(total*1e12)/1e12))
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func tags(ts []string) string {
	if len(ts) == 0 {
		return "none"
	}
	return strings.Join(ts, ",")
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
