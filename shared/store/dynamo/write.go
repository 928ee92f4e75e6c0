package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/llm-router/router/shared/config"
)

// Head item attributes.
const (
	headSK        = "head"
	attrGen       = "generation"
	attrHash      = "hash"
	attrItems     = "items"
	attrVersion   = "version"
	attrUpdatedAt = "updated_at"
)

// maxTransactItems is DynamoDB's limit of actions in one TransactWriteItems.
const maxTransactItems = 100

// ErrConcurrentWrite means another writer moved the head between this
// writer's read and its own move: nothing of this write is in force.
var ErrConcurrentWrite = errors.New("another writer changed the configuration at the same time; run again")

// headPK is the partition of a configuration's head item.
func headPK(name string) string { return "config#" + name }

// generationPK is the partition holding one generation's items.
func generationPK(name, gen string) string { return "config#" + name + "#" + gen }

// head is the item naming the generation in force.
type head struct {
	generation string
	hash       string
	items      int
	version    int64
}

func readHead(ctx context.Context, db DB, table, name string) (*head, error) {
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key(headPK(name), headSK),
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	if out.Item == nil {
		return nil, nil
	}
	h := &head{generation: stringAttr(out.Item, attrGen), hash: stringAttr(out.Item, attrHash)}
	var err1, err2 error
	h.items, err1 = strconv.Atoi(numberAttr(out.Item, attrItems))
	h.version, err2 = strconv.ParseInt(numberAttr(out.Item, attrVersion), 10, 64)
	if err1 != nil || err2 != nil || h.generation == "" || len(h.hash) != 64 {
		return nil, errors.New("the head item is malformed (written by hand?); run scripts/seed again")
	}
	return h, nil
}

// WriteResult says what WriteConfig did.
type WriteResult struct {
	// Generation is the generation now in force; Previous the one before ("" if none).
	Generation, Previous string
	// Items is the number of entity items of the configuration.
	Items int
	// Changed is false when the table already had this content in force.
	Changed bool
	// Deleted counts the items of other generations removed.
	Deleted int
}

// WriteConfig makes c the configuration name in table. It validates c, writes
// its items as a new generation (TransactWriteItems, at most 100 items per
// call), then moves the head to that generation in one conditional write:
// readers see the old configuration or the new one, never a mix, however
// large it is. Then it deletes the items of every other generation, so
// nothing the file no longer names remains. Writing the same content again
// changes nothing a reader sees.
func WriteConfig(ctx context.Context, db DB, table, name string, c *config.Config, now time.Time) (WriteResult, error) {
	var res WriteResult
	if err := c.Validate(); err != nil {
		return res, err
	}
	es, err := entities(c)
	if err != nil {
		return res, fmt.Errorf("dynamo: encode config: %w", err)
	}
	hash, err := contentHash(c)
	if err != nil {
		return res, err
	}
	gen := generationOf(hash)
	res.Generation, res.Items = gen, len(es)
	pk := generationPK(name, gen)
	items := make([]map[string]types.AttributeValue, len(es))
	for i, e := range es {
		if items[i], err = e.item(pk); err != nil {
			return res, fmt.Errorf("dynamo: encode %s: %w", e.sortKey(), err)
		}
	}

	h, err := readHead(ctx, db, table, name)
	if err != nil {
		return res, fmt.Errorf("dynamo: read head of config %q in %s: %w", name, table, err)
	}
	if h != nil {
		res.Previous = h.generation
	}
	// Items are written even when the head already names this generation:
	// puts are idempotent, and it repairs a generation damaged by hand.
	if err := putItems(ctx, db, table, items); err != nil {
		return res, err
	}
	if h == nil || h.generation != gen || h.hash != hash || h.items != len(items) {
		if err := moveHead(ctx, db, table, name, h, gen, hash, len(items), now); err != nil {
			return res, err
		}
		res.Changed = true
	}
	res.Deleted, err = deleteOtherGenerations(ctx, db, table, name, gen)
	return res, err
}

func putItems(ctx context.Context, db DB, table string, items []map[string]types.AttributeValue) error {
	for start := 0; start < len(items); start += maxTransactItems {
		batch := items[start:min(start+maxTransactItems, len(items))]
		tx := make([]types.TransactWriteItem, len(batch))
		for i, it := range batch {
			tx[i] = types.TransactWriteItem{Put: &types.Put{TableName: aws.String(table), Item: it}}
		}
		if _, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx}); err != nil {
			return fmt.Errorf("dynamo: write config items to %s: %w", table, err)
		}
	}
	return nil
}

// moveHead points the head at gen, on the condition that nobody moved it
// since it was read (its version is unchanged, or it still does not exist).
func moveHead(ctx context.Context, db DB, table, name string, old *head, gen, hash string, items int, now time.Time) error {
	item := key(headPK(name), headSK)
	item[attrGen] = str(gen)
	item[attrHash] = str(hash)
	item[attrItems] = &types.AttributeValueMemberN{Value: strconv.Itoa(items)}
	item[attrUpdatedAt] = str(now.UTC().Format(time.RFC3339))
	in := &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}
	if old == nil {
		item[attrVersion] = &types.AttributeValueMemberN{Value: "1"}
		in.ConditionExpression = aws.String("attribute_not_exists(#pk)")
		in.ExpressionAttributeNames = map[string]string{"#pk": AttrPK}
	} else {
		item[attrVersion] = &types.AttributeValueMemberN{Value: strconv.FormatInt(old.version+1, 10)}
		in.ConditionExpression = aws.String("#v = :v")
		in.ExpressionAttributeNames = map[string]string{"#v": attrVersion}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{
			":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(old.version, 10)}}
	}
	_, err := db.PutItem(ctx, in)
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return fmt.Errorf("dynamo: config %q in %s: %w", name, table, ErrConcurrentWrite)
	}
	if err != nil {
		return fmt.Errorf("dynamo: move head of config %q in %s: %w", name, table, err)
	}
	return nil
}

// deleteOtherGenerations removes the items of every generation of config
// name except keep, found by a Scan (the config table is small, and this
// runs only when a configuration is written). If the head no longer names
// keep, another writer has moved it, and its generation is left alone.
func deleteOtherGenerations(ctx context.Context, db DB, table, name, keep string) (int, error) {
	prefix := generationPK(name, "")
	keepPK := generationPK(name, keep)
	var stale []map[string]types.AttributeValue
	in := &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		FilterExpression:          aws.String("begins_with(#pk, :prefix) AND #pk <> :keep"),
		ProjectionExpression:      aws.String("#pk, #sk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#sk": AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":prefix": str(prefix), ":keep": str(keepPK)}}
	for {
		out, err := db.Scan(ctx, in)
		if err != nil {
			return 0, fmt.Errorf("dynamo: list old config items in %s: %w", table, err)
		}
		stale = append(stale, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	if len(stale) == 0 {
		return 0, nil
	}
	if h, err := readHead(ctx, db, table, name); err != nil || h == nil || h.generation != keep {
		return 0, err
	}
	deleted := 0
	for start := 0; start < len(stale); start += maxTransactItems {
		batch := stale[start:min(start+maxTransactItems, len(stale))]
		tx := make([]types.TransactWriteItem, len(batch))
		for i, it := range batch {
			tx[i] = types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(table),
				Key: map[string]types.AttributeValue{AttrPK: it[AttrPK], AttrSK: it[AttrSK]}}}
		}
		if _, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx}); err != nil {
			return deleted, fmt.Errorf("dynamo: delete old config items in %s: %w", table, err)
		}
		deleted += len(batch)
	}
	return deleted, nil
}
