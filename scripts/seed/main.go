// Command seed writes a YAML configuration into the router's DynamoDB config
// table:
//
//	go run ./scripts/seed -config FILE.yaml [-create-tables] [-config-table NAME] [-state-table NAME]
//
// The file is validated by config.Parse, the router's own loader, before
// anything is written. The write is idempotent and never half-done: the
// configuration's items go in as a new generation, one conditional write
// makes it current, and the items of older generations are then deleted
// (docs/DYNAMODB.md). -create-tables first creates both tables if they are
// missing, for moto or DynamoDB Local (in AWS, template.yaml creates them).
// AWS_ENDPOINT_URL points it at an emulator.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/llm-router/router/shared/awshttp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/cost"
	"github.com/llm-router/router/shared/store/dynamo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, nil, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

// run is the command. awsCfg, when set, replaces the SDK's default
// configuration chain (tests point it at moto).
func run(ctx context.Context, args []string, env func(string) (string, bool), awsCfg *aws.Config, stdout, stderr io.Writer) error {
	getenv := func(k, def string) string {
		if v, ok := env(k); ok && v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", "", "YAML configuration to write (required)")
	create := fs.Bool("create-tables", false, "create the config and state tables if they are missing (local emulators)")
	configTable := fs.String("config-table", getenv("ROUTER_CONFIG_TABLE", dynamo.DefaultConfigTable), "config table (ROUTER_CONFIG_TABLE)")
	stateTable := fs.String("state-table", getenv("ROUTER_STATE_TABLE", dynamo.DefaultStateTable), "state table (ROUTER_STATE_TABLE)")
	name := fs.String("name", dynamo.DefaultConfigName, "name of the configuration in the table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("-config FILE.yaml is required")
	}
	c, err := config.LoadFile(*file)
	if err != nil {
		return err
	}
	// Routers also refuse a model no price covers: refuse it here, before
	// writing a configuration every router would then reject.
	catalog, err := cost.DefaultCatalog()
	if err != nil {
		return err
	}
	if _, err := cost.Fill(c, catalog); err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	cfg, err := awshttp.Config(ctx, awsCfg)
	if err != nil {
		return err
	}
	awsCfg = &cfg
	db := dynamodb.NewFromConfig(*awsCfg)
	if *create {
		if err := dynamo.CreateTables(ctx, db, *configTable, *stateTable); err != nil {
			return err
		}
	}
	if c.Keys == nil {
		// A file without a keys: section leaves the router keys in the table
		// alone (scripts/keys manages them there): seed replaces what the
		// file names. keys: [] removes them.
		cur, err := dynamo.ReadConfig(ctx, db, *configTable, *name)
		if err != nil {
			return fmt.Errorf("reading the keys in force: %w", err)
		}
		if cur != nil && len(cur.Keys) > 0 {
			c.Keys = cur.Keys
			if err := c.Validate(); err != nil {
				return fmt.Errorf("the router keys kept from the table do not fit %s: %w", *file, err)
			}
			fmt.Fprintf(stdout, "%s has no keys: section: keeping the %d router keys of the table (keys: [] removes them)\n", *file, len(cur.Keys))
		}
	}
	res, err := dynamo.WriteConfig(ctx, db, *configTable, *name, c, time.Now())
	if err != nil {
		return err
	}
	switch {
	case !res.Changed:
		fmt.Fprintf(stdout, "%s: unchanged, generation %s of config %q in %s (%d items)\n", *file, res.Generation, *name, *configTable, res.Items)
	case res.Previous == "":
		fmt.Fprintf(stdout, "%s: written as generation %s of config %q in %s (%d items)\n", *file, res.Generation, *name, *configTable, res.Items)
	default:
		fmt.Fprintf(stdout, "%s: written as generation %s of config %q in %s (%d items), replacing %s\n",
			*file, res.Generation, *name, *configTable, res.Items, res.Previous)
	}
	if res.Deleted > 0 {
		fmt.Fprintf(stdout, "deleted %d items of replaced generations\n", res.Deleted)
	}
	return nil
}
