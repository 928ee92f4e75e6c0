// Command keys manages the router's API keys in its config store, the YAML
// file of a local router or the DynamoDB config table:
//
//	go run ./scripts/keys create -id ID [-routes r1,r2|*] [-models m1,m2] [-data-class phi]
//	                             [-rpm N] [-tpm N] [-budget USD] [-downgrade-at 0.9 -downgrade-route R]
//	                             [-tags team=x,feature=y] [-expires 2026-12-31T00:00:00Z | -valid-for 720h]
//	go run ./scripts/keys list
//	go run ./scripts/keys revoke -id ID
//	go run ./scripts/keys rotate -id ID
//
// Every command takes the store as the router does: -config FILE.yaml (or
// ROUTER_CONFIG) for a file, -table NAME (or ROUTER_STORE=dynamodb and
// ROUTER_CONFIG_TABLE) for DynamoDB; AWS_ENDPOINT_URL points it at an
// emulator.
//
// A key is 256 random bits from crypto/rand, printed once on stdout (alone,
// so key=$(go run ./scripts/keys create …) captures it) and never stored: the
// store keeps sha256:HEX. Revoking sets disabled: true, so the id stays
// reserved and audit lines keep naming it; rotating replaces the hash, so
// the old key stops working. Routers pick either up within their cache TTL
// (ROUTER_CACHE_TTL). Every change is validated by the router's own
// config.Validate before it is written; a file is replaced atomically, and
// the table gets a new generation (docs/DYNAMODB.md).
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/llm-router/router/shared/awshttp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/store/dynamo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, nil, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "keys:", err)
		os.Exit(1)
	}
}

// KeyPrefix starts every router key, so secret scanners and people can tell
// one when they see it.
const KeyPrefix = "sk-router-"

// keyBytes is the key's randomness: 256 bits.
const keyBytes = 32

const usage = `usage: keys COMMAND [flags]

commands:
  create -id ID [flags]   create a key; prints it once
  list                    list keys (never the keys themselves)
  revoke -id ID           disable a key
  rotate -id ID           replace a key's secret; prints the new key once

store flags (every command):
  -config FILE.yaml       the router's YAML file (default $ROUTER_CONFIG)
  -table NAME             the DynamoDB config table (default $ROUTER_CONFIG_TABLE with ROUTER_STORE=dynamodb)
  -name NAME              the configuration's name in the table (default "default")
`

// run is the command. awsCfg, when set, replaces the SDK's default
// configuration chain (tests point it at moto).
func run(ctx context.Context, args []string, env func(string) (string, bool), awsCfg *aws.Config, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("a command is required")
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("keys "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	getenv := func(k string) string {
		v, _ := env(k)
		return v
	}
	file := fs.String("config", "", "the router's YAML configuration file (default $ROUTER_CONFIG)")
	table := fs.String("table", "", "the DynamoDB config table (default $ROUTER_CONFIG_TABLE when ROUTER_STORE=dynamodb)")
	name := fs.String("name", dynamo.DefaultConfigName, "the configuration's name in the table")
	id := fs.String("id", "", "the key's id (create, revoke, rotate)")
	var spec keySpec
	if cmd == "create" {
		spec.flags(fs)
	}
	switch cmd {
	case "create", "list", "revoke", "rotate":
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if cmd != "list" && *id == "" {
		return errors.New("-id is required")
	}

	st, err := openStore(ctx, *file, *table, *name, getenv, awsCfg)
	if err != nil {
		return err
	}
	c, err := st.read(ctx)
	if err != nil {
		return err
	}
	switch cmd {
	case "list":
		return list(stdout, c, time.Now())
	case "create":
		k, err := spec.key(*id, time.Now())
		if err != nil {
			return err
		}
		for _, have := range c.Keys {
			if have.ID == *id {
				return fmt.Errorf("a key with id %q exists (rotate it, or choose another id)", *id)
			}
		}
		secret, hash, err := newKey()
		if err != nil {
			return err
		}
		k.Hash = hash
		c.Keys = append(c.Keys, *k)
		where, err := st.write(ctx, c)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, secret)
		fmt.Fprintf(stderr, "created key %q (%s…) in %s.\nThe key above is shown only this once and is not stored anywhere: give it to its user now.\n",
			*id, hash[:len("sha256:")+12], where)
		return nil
	case "revoke":
		k := find(c, *id)
		if k == nil {
			return fmt.Errorf("no key with id %q", *id)
		}
		if k.Disabled {
			fmt.Fprintf(stderr, "key %q was already revoked\n", *id)
			return nil
		}
		k.Disabled = true
		where, err := st.write(ctx, c)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "revoked key %q in %s; routers refuse it within their cache TTL (ROUTER_CACHE_TTL, default 5s)\n", *id, where)
		return nil
	default: // rotate
		k := find(c, *id)
		if k == nil {
			return fmt.Errorf("no key with id %q", *id)
		}
		if k.Disabled {
			return fmt.Errorf("key %q is revoked; create a new key instead of bringing it back", *id)
		}
		secret, hash, err := newKey()
		if err != nil {
			return err
		}
		k.Hash = hash
		where, err := st.write(ctx, c)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, secret)
		fmt.Fprintf(stderr, "rotated key %q (%s…) in %s: the old key stops working within the routers' cache TTL.\n"+
			"The key above is shown only this once: give it to its user now.\n", *id, hash[:len("sha256:")+12], where)
		return nil
	}
}

// newKey returns a fresh key and its stored form, sha256:HEX.
func newKey() (secret, hash string, err error) {
	b := make([]byte, keyBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("no randomness for a key: %w", err)
	}
	secret = KeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(secret))
	return secret, "sha256:" + hex.EncodeToString(sum[:]), nil
}

func find(c *config.Config, id string) *config.Key {
	for i := range c.Keys {
		if c.Keys[i].ID == id {
			return &c.Keys[i]
		}
	}
	return nil
}

// keySpec is what create sets on a new key.
type keySpec struct {
	routes, models, dataClass, tags, downgradeRoute, expires string
	rpm, tpm                                                 int
	budget, downgradeAt                                      float64
	validFor                                                 time.Duration
}

func (s *keySpec) flags(fs *flag.FlagSet) {
	fs.StringVar(&s.routes, "routes", "*", "routes (and models) the key may use, comma-separated; * for all")
	fs.StringVar(&s.models, "models", "", "models the key may call directly by id, comma-separated")
	fs.StringVar(&s.dataClass, "data-class", "", "default data class of the key's requests, e.g. phi")
	fs.IntVar(&s.rpm, "rpm", 0, "requests per minute, across all routers (0: no limit)")
	fs.IntVar(&s.tpm, "tpm", 0, "tokens per minute, across all routers (0: no limit)")
	fs.Float64Var(&s.budget, "budget", 0, "monthly budget in USD (0: none)")
	fs.Float64Var(&s.downgradeAt, "downgrade-at", 0, "share of the budget (e.g. 0.9) from which requests go to -downgrade-route")
	fs.StringVar(&s.downgradeRoute, "downgrade-route", "", "the cheaper route of the budget's on_budget rule")
	fs.StringVar(&s.tags, "tags", "", "default cost tags, e.g. team=triage,feature=refill")
	fs.StringVar(&s.expires, "expires", "", "when the key stops working (RFC 3339)")
	fs.DurationVar(&s.validFor, "valid-for", 0, "how long the key works from now, e.g. 2160h (instead of -expires)")
}

// key builds the key (without its hash); the configuration's validation
// checks the rest (routes, class and downgrade route exist, and so on).
func (s *keySpec) key(id string, now time.Time) (*config.Key, error) {
	k := &config.Key{ID: id, Routes: splitList(s.routes), Models: splitList(s.models), DataClass: s.dataClass,
		RPM: s.rpm, TPM: s.tpm}
	if s.budget != 0 {
		k.Budget = &config.Budget{MonthlyUSD: s.budget}
	}
	if s.downgradeAt != 0 || s.downgradeRoute != "" {
		if k.Budget == nil {
			return nil, errors.New("-downgrade-at and -downgrade-route need -budget")
		}
		k.Budget.OnBudget = &config.Downgrade{At: s.downgradeAt, Route: s.downgradeRoute}
	}
	if s.tags != "" {
		k.Tags = map[string]string{}
		for _, pair := range splitList(s.tags) {
			name, value, ok := strings.Cut(pair, "=")
			if !ok || name == "" {
				return nil, fmt.Errorf("-tags: %q is not name=value", pair)
			}
			k.Tags[strings.TrimSpace(name)] = strings.TrimSpace(value)
		}
	}
	switch {
	case s.expires != "" && s.validFor != 0:
		return nil, errors.New("give -expires or -valid-for, not both")
	case s.expires != "":
		t, err := time.Parse(time.RFC3339, s.expires)
		if err != nil {
			return nil, fmt.Errorf("-expires: %w", err)
		}
		t = t.UTC()
		k.Expires = &t
	case s.validFor < 0:
		return nil, errors.New("-valid-for must be positive")
	case s.validFor > 0:
		t := now.Add(s.validFor).UTC().Truncate(time.Second)
		k.Expires = &t
	}
	return k, nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// list prints the keys: never a key, only the start of its hash.
func list(w io.Writer, c *config.Config, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tROUTES\tMODELS\tCLASS\tRPM\tTPM\tBUDGET_USD\tEXPIRES\tHASH")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	num := func(n int) string {
		if n == 0 {
			return "-"
		}
		return strconv.Itoa(n)
	}
	for _, k := range c.Keys {
		status := "active"
		switch {
		case k.Disabled:
			status = "revoked"
		case k.Expires != nil && now.After(*k.Expires):
			status = "expired"
		}
		budget, expires := "-", "-"
		if k.Budget != nil {
			budget = strconv.FormatFloat(k.Budget.MonthlyUSD, 'f', -1, 64)
			if d := k.Budget.OnBudget; d != nil {
				budget += fmt.Sprintf(" (%s from %g%%)", d.Route, d.At*100)
			}
		}
		if k.Expires != nil {
			expires = k.Expires.UTC().Format(time.RFC3339)
		}
		hash := k.Hash
		if len(hash) > len("sha256:")+12 {
			hash = hash[:len("sha256:")+12] + "…"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, status, dash(strings.Join(k.Routes, ",")),
			dash(strings.Join(k.Models, ",")), dash(k.DataClass), num(k.RPM), num(k.TPM), budget, expires, hash)
	}
	return tw.Flush()
}

// store is where the configuration lives.
type store interface {
	// read returns the configuration in force.
	read(ctx context.Context) (*config.Config, error)
	// write makes c the configuration, refusing if another writer changed
	// it since read; it returns where it wrote, for messages.
	write(ctx context.Context, c *config.Config) (string, error)
}

// openStore picks the store as the router does.
func openStore(ctx context.Context, file, table, name string, getenv func(string) string, awsCfg *aws.Config) (store, error) {
	if file != "" && table != "" {
		return nil, errors.New("give -config or -table, not both")
	}
	if file == "" && table == "" {
		if getenv("ROUTER_STORE") == "dynamodb" {
			table = getenv("ROUTER_CONFIG_TABLE")
			if table == "" {
				table = dynamo.DefaultConfigTable
			}
		} else {
			file = getenv("ROUTER_CONFIG")
		}
	}
	if file != "" {
		return &fileStore{path: file}, nil
	}
	if table == "" {
		return nil, errors.New("name the store: -config FILE.yaml, or -table NAME for the DynamoDB config table")
	}
	cfg, err := awshttp.Config(ctx, awsCfg)
	if err != nil {
		return nil, err
	}
	awsCfg = &cfg
	return &tableStore{db: dynamodb.NewFromConfig(*awsCfg), table: table, name: name}, nil
}

// tableStore is the DynamoDB config table, written with the same
// generations as scripts/seed.
type tableStore struct {
	db          dynamo.DB
	table, name string
	generation  string
}

func (s *tableStore) source() *dynamo.ConfigSource {
	// Its load and change notices are for routers' logs, not this command's.
	return &dynamo.ConfigSource{DB: s.db, Table: s.table, Name: s.name, Log: slog.New(slog.DiscardHandler)}
}

func (s *tableStore) read(ctx context.Context) (*config.Config, error) {
	src := s.source()
	c, err := src.Config(ctx)
	if err != nil {
		return nil, fmt.Errorf("read config %q from %s: %w", s.name, s.table, err)
	}
	s.generation = src.Generation()
	return c, nil
}

func (s *tableStore) write(ctx context.Context, c *config.Config) (string, error) {
	// WriteConfig moves the head on the condition that it did not move since
	// its own read of it; checking the generation first also covers the
	// time since this command's read.
	src := s.source()
	if _, err := src.Config(ctx); err != nil {
		return "", err
	}
	if g := src.Generation(); g != s.generation {
		return "", fmt.Errorf("the configuration changed meanwhile (generation %s, then %s): run the command again", s.generation, g)
	}
	res, err := dynamo.WriteConfig(ctx, s.db, s.table, s.name, c, time.Now())
	if err != nil {
		return "", err
	}
	if res.Previous != s.generation {
		return "", fmt.Errorf("another writer changed the configuration while this one wrote (generation %s replaced %s, not %s): check it with keys list",
			res.Generation, res.Previous, s.generation)
	}
	return fmt.Sprintf("config %q of table %s (generation %s)", s.name, s.table, res.Generation), nil
}
