// Package dynamo keeps the router's configuration and state in DynamoDB.
//
// Two tables, both keyed by the strings pk (partition) and sk (sort), as
// template.yaml creates them (docs/DYNAMODB.md has the whole layout):
//
//   - the config table holds whole configurations, one item per provider,
//     model, route, data class and key, grouped in immutable generations
//     named by their content hash, and a head item naming the generation in
//     force. WriteConfig (scripts/seed) writes a generation, then moves the
//     head in one conditional write, so a reader never sees half a config.
//     ConfigSource reads it into memory and serves it from there.
//   - the state table holds health per provider and model (written with a
//     version condition) and counters updated with atomic ADD and expiring
//     through DynamoDB's TTL.
package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/store/ddbtable"
)

// DB is the part of the DynamoDB client the stores use. *dynamodb.Client
// implements it; tests use that client against moto_server.
type DB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// TableAdmin is what CreateTables needs besides DB.
type TableAdmin = ddbtable.Admin

var (
	_ DB         = (*dynamodb.Client)(nil)
	_ TableAdmin = (*dynamodb.Client)(nil)
)

// Key attribute names of both tables, and the state table's TTL attribute.
const (
	AttrPK      = "pk"
	AttrSK      = "sk"
	AttrExpires = "expires_at"
)

// Default table and configuration names (ROUTER_CONFIG_TABLE, ROUTER_STATE_TABLE).
const (
	DefaultConfigTable = "llm-router-config"
	DefaultStateTable  = "llm-router-state"
	DefaultConfigName  = "default"
)

// ErrNoConfig means the config table holds no configuration of that name:
// scripts/seed has not written one yet. It is config.ErrNotConfigured, so the
// gateway answers 503 router_not_configured rather than failing.
var ErrNoConfig = fmt.Errorf("%w: no configuration in the table (write one with: go run ./scripts/seed -config FILE.yaml)",
	config.ErrNotConfigured)

// CreateTables creates the config and state tables when they are missing,
// with the key schema, billing mode and TTL attribute of template.yaml. It is
// for local emulators (moto, DynamoDB Local); in AWS the template owns them.
func CreateTables(ctx context.Context, db TableAdmin, configTable, stateTable string) error {
	for _, name := range []string{configTable, stateTable} {
		ttl := ""
		if name == stateTable {
			ttl = AttrExpires
		}
		err := ddbtable.Ensure(ctx, db, &dynamodb.CreateTableInput{
			TableName:   aws.String(name),
			BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{
				{AttributeName: aws.String(AttrPK), AttributeType: types.ScalarAttributeTypeS},
				{AttributeName: aws.String(AttrSK), AttributeType: types.ScalarAttributeTypeS},
			},
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(AttrPK), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(AttrSK), KeyType: types.KeyTypeRange},
			},
		}, ttl)
		if err != nil {
			return fmt.Errorf("dynamo: %w", err)
		}
	}
	return nil
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: str(pk), AttrSK: str(sk)}
}

// stringAttr reads a string attribute; absent or of another type gives "".
func stringAttr(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// numberAttr reads a number attribute as its decimal text; absent gives "".
func numberAttr(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		return v.Value
	}
	return ""
}
