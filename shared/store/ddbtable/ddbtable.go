// Package ddbtable creates a DynamoDB table as template.yaml would, for
// local emulators (moto, DynamoDB Local) and tests; in AWS the template
// owns every table.
package ddbtable

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Admin is the part of the DynamoDB client Ensure uses.
type Admin interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

var _ Admin = (*dynamodb.Client)(nil)

// Ensure creates the table in when it is missing, waits until it is
// active and, when ttl names an attribute, turns TTL on for it. A table
// that exists is left as it is.
func Ensure(ctx context.Context, db Admin, in *dynamodb.CreateTableInput, ttl string) error {
	name := aws.ToString(in.TableName)
	_, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName})
	if err == nil {
		return nil
	}
	var missing *types.ResourceNotFoundException
	if !errors.As(err, &missing) {
		return fmt.Errorf("describe table %s: %w", name, err)
	}
	var inUse *types.ResourceInUseException
	if _, err := db.CreateTable(ctx, in); err != nil && !errors.As(err, &inUse) { // in use: created meanwhile by another caller
		return fmt.Errorf("create table %s: %w", name, err)
	}
	// DynamoDB creates tables asynchronously; TTL and writes need ACTIVE.
	if err := dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName},
		2*time.Minute); err != nil {
		return fmt.Errorf("table %s did not become active: %w", name, err)
	}
	if ttl == "" {
		return nil
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: in.TableName,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(ttl), Enabled: aws.Bool(true)}})
	if err != nil {
		return fmt.Errorf("enable TTL on %s: %w", name, err)
	}
	return nil
}
