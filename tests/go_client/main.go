// Command go_client calls the tenancy server's ResourceService through the generated Go stubs
// (module github.com/scimtenancy/scim-tenancy/protos/gen/go), as an internal Go service would.
// The test suite runs it (tests/e2e/test_go_client.py) to prove the gRPC contract is usable
// from another language.
//
// Usage:
//
//	SCIMTENANCY_API_KEY=<key> go_client -target 127.0.0.1:50051 create -type User -json '{...}'
//	SCIMTENANCY_API_KEY=<key> go_client -target 127.0.0.1:50051 get -type User -id <id>
//	SCIMTENANCY_API_KEY=<key> go_client -target 127.0.0.1:50051 list -type User -filter '...'
//
// Each command prints one JSON object on stdout. A failed call prints
// {"error": {"code": ..., "message": ..., "scim": {"status": ..., "scimType": ..., "detail": ...}}}
// (the SCIM error travels in the gRPC status details) and exits with status 1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	errorsv1 "github.com/scimtenancy/scim-tenancy/protos/gen/go/scimtenancy/errors/v1"
	resourcesv1 "github.com/scimtenancy/scim-tenancy/protos/gen/go/scimtenancy/resources/v1"
)

// apiKey sends `authorization: Bearer <key>` with every call; the server resolves the tenant
// from it.
type apiKey string

func (k apiKey) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(k)}, nil
}

// RequireTransportSecurity is false because this program talks plaintext gRPC on loopback.
// A caller across a network uses TLS transport credentials and returns true here.
func (apiKey) RequireTransportSecurity() bool { return false }

// resource is what the program prints of one SCIM resource.
type resource struct {
	ID           string `json:"id"`
	ResourceType string `json:"resourceType"`
	Version      string `json:"version"`
	UserName     string `json:"userName,omitempty"`
}

func describe(r *resourcesv1.Resource) (resource, error) {
	var body struct {
		UserName string `json:"userName"`
	}
	if err := json.Unmarshal(r.GetJson(), &body); err != nil {
		return resource{}, fmt.Errorf("resource %s is not JSON: %w", r.GetId(), err)
	}
	return resource{r.GetId(), r.GetResourceType(), r.GetVersion(), body.UserName}, nil
}

// rpcError is what the program prints of a failed call.
type rpcError struct {
	Code    string     `json:"code"`
	Message string     `json:"message"`
	Scim    *scimError `json:"scim,omitempty"`
}

type scimError struct {
	Status   int32  `json:"status"`
	ScimType string `json:"scimType"`
	Detail   string `json:"detail"`
}

func describeError(err error) (rpcError, bool) {
	st, ok := status.FromError(err)
	if !ok {
		return rpcError{}, false
	}
	described := rpcError{Code: st.Code().String(), Message: st.Message()}
	for _, detail := range st.Details() {
		if scim, ok := detail.(*errorsv1.ScimError); ok {
			described.Scim = &scimError{scim.GetStatus(), scim.GetScimType(), scim.GetDetail()}
		}
	}
	return described, true
}

func run(ctx context.Context, client resourcesv1.ResourceServiceClient, args []string) (any, error) {
	if len(args) == 0 {
		return nil, errors.New("a command is required: create, get or list")
	}
	command := flag.NewFlagSet(args[0], flag.ContinueOnError)
	resourceType := command.String("type", "User", "resource type name or endpoint")
	body := command.String("json", "", "create: the resource as SCIM JSON")
	id := command.String("id", "", "get: the resource id")
	filter := command.String("filter", "", "list: a SCIM filter expression")
	if err := command.Parse(args[1:]); err != nil {
		return nil, err
	}
	switch args[0] {
	case "create":
		reply, err := client.CreateResource(ctx, &resourcesv1.CreateResourceRequest{
			ResourceType: *resourceType, Json: []byte(*body),
		})
		if err != nil {
			return nil, err
		}
		return describe(reply.GetResource())
	case "get":
		reply, err := client.GetResource(ctx, &resourcesv1.GetResourceRequest{
			ResourceType: *resourceType, Id: *id,
		})
		if err != nil {
			return nil, err
		}
		return describe(reply.GetResource())
	case "list":
		reply, err := client.ListResources(ctx, &resourcesv1.ListResourcesRequest{
			ResourceType: *resourceType, Filter: *filter,
		})
		if err != nil {
			return nil, err
		}
		page := struct {
			TotalResults int64      `json:"totalResults"`
			Resources    []resource `json:"resources"`
		}{reply.GetTotalResults(), []resource{}}
		for _, found := range reply.GetResources() {
			described, err := describe(found)
			if err != nil {
				return nil, err
			}
			page.Resources = append(page.Resources, described)
		}
		return page, nil
	}
	return nil, fmt.Errorf("unknown command %q: use create, get or list", args[0])
}

func main() {
	target := flag.String("target", "127.0.0.1:50051", "the tenancy server's gRPC address")
	timeout := flag.Duration("timeout", 10*time.Second, "deadline of the call")
	flag.Parse()
	key := os.Getenv("SCIMTENANCY_API_KEY")
	if key == "" {
		fmt.Fprintln(os.Stderr, "SCIMTENANCY_API_KEY is not set")
		os.Exit(2)
	}
	conn, err := grpc.NewClient(*target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(apiKey(key)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	result, err := run(ctx, resourcesv1.NewResourceServiceClient(conn), flag.Args())
	exit := 0
	if err != nil {
		described, isRPC := describeError(err)
		if !isRPC {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		result = map[string]rpcError{"error": described}
		exit = 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(exit)
}
