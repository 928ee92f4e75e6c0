package dynamo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/llm-router/router/shared/config"
)

// Defaults of ConfigSource.
const (
	// DefaultCacheTTL is how long a router trusts its in-memory copy
	// (ROUTER_CACHE_TTL).
	DefaultCacheTTL = 5 * time.Second
	// DefaultRefreshTimeout bounds one refresh, so an unreachable table costs
	// the request that found the copy stale at most this long.
	DefaultRefreshTimeout = 2 * time.Second
	// DefaultNamespace is the CloudWatch namespace of the store's metric.
	DefaultNamespace = "LLMRouter"
)

// MetricRefreshFailures is the EMF metric counting failed config refreshes
// (dimension Table). Each failure logs one line carrying it with value 1.
const MetricRefreshFailures = "ConfigRefreshFailures"

// errTorn marks a generation that did not read back whole: it was replaced
// and deleted while being read, or edited by hand.
var errTorn = errors.New("the configuration read does not match its head item")

// ConfigSource serves the configuration in the config table from memory. It
// implements gateway.ConfigSource: a call within TTL of the last read makes
// no AWS call. After TTL the first caller refreshes (one GetItem of the head;
// the generation's items are read only when the head names a new one) while
// concurrent callers keep the previous copy. Unchanged content keeps the
// same *config.Config, so the gateway does not recompile. A refresh that
// fails, or finds a configuration that does not validate, keeps the last good
// copy and logs an EMF line counting ConfigRefreshFailures; only the very
// first load can fail.
type ConfigSource struct {
	// DB is the DynamoDB client (required).
	DB DB
	// Table is the config table's name (required).
	Table string
	// Name is the configuration to serve (default DefaultConfigName).
	Name string
	// TTL is how long a copy is trusted (default DefaultCacheTTL).
	TTL time.Duration
	// RefreshTimeout bounds a refresh (default DefaultRefreshTimeout).
	RefreshTimeout time.Duration
	// Namespace is the CloudWatch namespace of the failure metric (default DefaultNamespace).
	Namespace string
	// Log receives refresh outcomes (default slog.Default()).
	Log *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time

	cur        atomic.Pointer[loaded]
	refreshing atomic.Bool
	firstLoad  sync.Mutex
	// absent is set while the table was found unseeded, until when to look
	// again: a router deployed before its configuration answers every
	// request at once, and reads the head once per TTL, not per request.
	absent atomic.Pointer[time.Time]
}

// loaded is one copy of the configuration and when to look again.
type loaded struct {
	cfg        *config.Config
	generation string
	hash       string
	next       time.Time
	failures   int       // consecutive failed refreshes
	since      time.Time // when this generation was first served
	checked    time.Time // the last successful read of the head
}

func (s *ConfigSource) name() string {
	if s.Name != "" {
		return s.Name
	}
	return DefaultConfigName
}

func (s *ConfigSource) ttl() time.Duration {
	if s.TTL > 0 {
		return s.TTL
	}
	return DefaultCacheTTL
}

func (s *ConfigSource) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *ConfigSource) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Config returns the current configuration.
func (s *ConfigSource) Config(ctx context.Context) (*config.Config, error) {
	l := s.cur.Load()
	if l == nil {
		return s.loadFirst(ctx)
	}
	now := s.now()
	if now.Before(l.next) {
		return l.cfg, nil
	}
	if !s.refreshing.CompareAndSwap(false, true) {
		return l.cfg, nil // a refresh is under way; serve the copy meanwhile
	}
	defer s.refreshing.Store(false)
	if cur := s.cur.Load(); cur != l {
		return cur.cfg, nil // refreshed between the load and the swap
	}
	// The refresh belongs to the source, not to the request that happened to
	// start it: a client leaving must not turn into a refresh failure.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.refreshTimeout())
	defer cancel()
	nl, err := s.load(rctx, l)
	if err != nil {
		failed := *l
		failed.next = now.Add(s.ttl())
		failed.failures++
		s.cur.Store(&failed)
		s.logFailure(ctx, err, &failed, now)
		return l.cfg, nil
	}
	nl.next, nl.checked = now.Add(s.ttl()), now
	if nl.generation == l.generation {
		nl.since = l.since
	} else {
		nl.since = now
	}
	s.cur.Store(nl)
	if l.failures > 0 {
		s.log().LogAttrs(ctx, slog.LevelInfo, "config refresh recovered", slog.String("type", "store"),
			slog.String("event", "refresh_recovered"), slog.String("Table", s.Table), slog.Int("failures", l.failures))
	}
	if nl.cfg != l.cfg {
		s.log().LogAttrs(ctx, slog.LevelInfo, "configuration changed", slog.String("type", "store"),
			slog.String("event", "config_changed"), slog.String("Table", s.Table), slog.String("config", s.name()),
			slog.String("generation", nl.generation), slog.String("previous", l.generation))
	}
	return nl.cfg, nil
}

func (s *ConfigSource) refreshTimeout() time.Duration {
	if s.RefreshTimeout > 0 {
		return s.RefreshTimeout
	}
	return DefaultRefreshTimeout
}

// Generation names the generation being served ("" before the first load).
func (s *ConfigSource) Generation() string {
	if l := s.cur.Load(); l != nil {
		return l.generation
	}
	return ""
}

// Readiness reports whether a configuration is being served, which
// generation, since when, and when the table was last read.
func (s *ConfigSource) Readiness() config.Readiness {
	l := s.cur.Load()
	if l == nil {
		reason := "the configuration has not been loaded yet"
		if s.absent.Load() != nil {
			reason = "the config table " + s.Table + " holds no configuration yet: run scripts/seed"
		}
		return config.Readiness{Reason: reason}
	}
	return config.Readiness{Ready: true, Generation: l.generation, LoadedAt: l.since, CheckedAt: l.checked,
		RefreshFailures: l.failures}
}

// loadFirst reads the configuration when there is no copy yet; callers wait
// for one read rather than each reading. A table found unseeded is not read
// again before TTL has passed.
func (s *ConfigSource) loadFirst(ctx context.Context) (*config.Config, error) {
	if until := s.absent.Load(); until != nil && s.now().Before(*until) {
		return nil, s.notSeeded()
	}
	s.firstLoad.Lock()
	defer s.firstLoad.Unlock()
	if l := s.cur.Load(); l != nil {
		return l.cfg, nil
	}
	if until := s.absent.Load(); until != nil && s.now().Before(*until) {
		return nil, s.notSeeded()
	}
	l, err := s.load(ctx, nil)
	if errors.Is(err, errTorn) {
		// A writer replaced the generation while it was read: read the new head.
		l, err = s.load(ctx, nil)
	}
	if errors.Is(err, ErrNoConfig) {
		until := s.now().Add(s.ttl())
		if s.absent.Swap(&until) == nil {
			s.log().LogAttrs(ctx, slog.LevelWarn, "the config table holds no configuration yet (run scripts/seed); "+
				"it is read again once per cache TTL until one is written", slog.String("type", "store"),
				slog.String("event", "not_seeded"), slog.String("Table", s.Table), slog.String("config", s.name()))
		}
		return nil, s.notSeeded()
	}
	if err != nil {
		return nil, fmt.Errorf("dynamo: cannot load configuration %q from table %s: %w", s.name(), s.Table, err)
	}
	now := s.now()
	l.next, l.since, l.checked = now.Add(s.ttl()), now, now
	s.absent.Store(nil)
	s.cur.Store(l)
	s.log().LogAttrs(ctx, slog.LevelInfo, "configuration loaded", slog.String("type", "store"),
		slog.String("event", "config_loaded"), slog.String("Table", s.Table), slog.String("config", s.name()),
		slog.String("generation", l.generation))
	return l.cfg, nil
}

// load reads the head and, when it names a generation other than prev's,
// that generation's items, checks them against the head and validates them.
func (s *ConfigSource) load(ctx context.Context, prev *loaded) (*loaded, error) {
	h, err := readHead(ctx, s.DB, s.Table, s.name())
	if err != nil {
		return nil, err
	}
	if h == nil {
		return nil, ErrNoConfig
	}
	if prev != nil && h.generation == prev.generation && h.hash == prev.hash {
		return &loaded{cfg: prev.cfg, generation: prev.generation, hash: prev.hash}, nil
	}
	es, err := s.readGeneration(ctx, h.generation)
	if err != nil {
		return nil, err
	}
	if len(es) != h.items {
		return nil, fmt.Errorf("%w: generation %s has %d items, its head says %d", errTorn, h.generation, len(es), h.items)
	}
	cfg, err := assemble(es)
	if err != nil {
		return nil, fmt.Errorf("generation %s: %w", h.generation, err)
	}
	hash, err := contentHash(cfg)
	if err != nil {
		return nil, err
	}
	if hash != h.hash {
		return nil, fmt.Errorf("%w: generation %s does not hash to %s (edit the YAML and run scripts/seed rather than editing items)",
			errTorn, h.generation, h.hash[:16])
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("generation %s is refused: %w", h.generation, err)
	}
	if prev != nil && prev.hash == hash {
		cfg = prev.cfg
	}
	return &loaded{cfg: cfg, generation: h.generation, hash: hash}, nil
}

func (s *ConfigSource) readGeneration(ctx context.Context, gen string) ([]entity, error) {
	in := &dynamodb.QueryInput{TableName: aws.String(s.Table), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(generationPK(s.name(), gen))}}
	var es []entity
	for {
		out, err := s.DB.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, item := range out.Items {
			e, err := entityOf(item)
			if err != nil {
				return nil, err
			}
			es = append(es, e)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return es, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

func (s *ConfigSource) notSeeded() error {
	return fmt.Errorf("dynamo: configuration %q in table %s: %w", s.name(), s.Table, ErrNoConfig)
}

// emfMeta is the _aws member of an Embedded Metric Format line.
type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// logFailure logs a failed refresh as one JSON line that is also an EMF
// document: CloudWatch Logs turns it into ConfigRefreshFailures = 1 with the
// dimension Table, so an alarm can watch a router serving a stale config.
func (s *ConfigSource) logFailure(ctx context.Context, err error, l *loaded, now time.Time) {
	ns := s.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	meta := emfMeta{Timestamp: now.UnixMilli(), CloudWatchMetrics: []emfDirective{{Namespace: ns,
		Dimensions: [][]string{{"Table"}}, Metrics: []emfMetric{{Name: MetricRefreshFailures, Unit: "Count"}}}}}
	s.log().LogAttrs(ctx, slog.LevelError, "config refresh failed; serving the last good configuration",
		slog.String("type", "store"), slog.String("event", "refresh_failed"), slog.String("Table", s.Table),
		slog.String("config", s.name()), slog.String("generation", l.generation),
		slog.Int("consecutive_failures", l.failures), slog.String("error", err.Error()),
		slog.Int(MetricRefreshFailures, 1), slog.Any("_aws", meta))
}

// ReadConfig reads the configuration name in force in table, once, without a
// cache; it returns nil when the table holds none yet. Tools use it.
func ReadConfig(ctx context.Context, db DB, table, name string) (*config.Config, error) {
	h, err := readHead(ctx, db, table, name)
	if err != nil || h == nil {
		return nil, err
	}
	src := &ConfigSource{DB: db, Table: table, Name: name, Log: slog.New(slog.DiscardHandler)}
	return src.Config(ctx)
}
