// Package awssecrets reads provider keys from AWS Secrets Manager. It is its
// own package so only the binaries that talk to AWS link the SDK client.
package awssecrets

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/llm-router/router/shared/secret"
)

// API is the part of the Secrets Manager client the store
// uses; *secretsmanager.Client implements it.
type API interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput,
		opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ API = (*secretsmanager.Client)(nil)

// Store is a secret.Store reading the current version (AWSCURRENT) of AWS
// Secrets Manager secrets. It makes one GetSecretValue per call: wrap it in a
// Cache, which keeps values for a TTL, refetches after Invalidate and keeps
// the last good value when Secrets Manager fails.
type Store struct {
	Client API
}

var _ secret.Store = (*Store)(nil)

// GetSecret returns the secret's string value. Its errors name the secret,
// never its value.
func (s *Store) GetSecret(ctx context.Context, id string) (string, error) {
	out, err := s.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		var missing *types.ResourceNotFoundException
		if errors.As(err, &missing) {
			return "", fmt.Errorf("%w: no such secret in Secrets Manager", secret.ErrNotFound)
		}
		return "", fmt.Errorf("reading from Secrets Manager: %w", err)
	}
	if out.SecretString == nil {
		return "", errors.New("the secret has a binary value; provider keys must be a string or a JSON object of strings")
	}
	return *out.SecretString, nil
}
