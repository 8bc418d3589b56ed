// Package typeconv builds managed fields' TypeConverters from the API
// server's OpenAPI v3 documents, for the apply adapters' apply.Schemas:
// one download per group-version, kept for the adapter's life. They also
// know the defaults that custom resources' schemas declare (see
// Converter).
package typeconv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/openapi"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Cache reads and keeps the schemas of an API server.
type Cache struct {
	client openapi.Client

	mu         sync.Mutex
	paths      map[string]openapi.GroupVersion
	schemas    map[schema.GroupVersion]map[string]*spec.Schema
	converters map[string]*Converter
}

// New returns a Cache reading through client (a discovery client's
// OpenAPIV3()).
func New(client openapi.Client) *Cache {
	return &Cache{client: client, schemas: map[schema.GroupVersion]map[string]*spec.Schema{}, converters: map[string]*Converter{}}
}

// ErrNoSchemas is what a nil Cache answers: the adapter was given no
// OpenAPI client. Package apply exports it as apply.ErrNoSchemas.
var ErrNoSchemas = errors.New("apply: no schemas of the API server (an OpenAPI v3 client is needed)")

// TypeConverter returns a converter that knows the types of the given
// group-versions, reading the schemas it has not read yet. A nil Cache
// returns ErrNoSchemas.
func (c *Cache) TypeConverter(_ context.Context, gvs []schema.GroupVersion) (managedfields.TypeConverter, error) {
	if c == nil {
		return nil, ErrNoSchemas
	}
	names := make([]string, len(gvs))
	for i, gv := range gvs {
		names[i] = gv.String()
	}
	sort.Strings(names)
	key := strings.Join(names, ",")
	c.mu.Lock()
	defer c.mu.Unlock()
	if tc, ok := c.converters[key]; ok {
		return tc, nil
	}
	all := map[string]*spec.Schema{}
	for _, gv := range gvs {
		s, err := c.read(gv)
		if err != nil {
			return nil, err
		}
		for k, v := range s {
			all[k] = v
		}
	}
	tc, err := managedfields.NewTypeConverter(all, false)
	if err != nil {
		return nil, err
	}
	conv := &Converter{TypeConverter: tc, defaults: customDefaults(all)}
	c.converters[key] = conv
	return conv, nil
}

// SchemaDigest names the schemas of gvs as the API server serves them now:
// a digest of their OpenAPI v3 documents' addresses, which carry each
// document's hash (one request, the list of documents). It changes when
// any of the schemas does — a CRD's new version, a cluster upgrade — and
// then the documents that changed are read again when next needed, so that
// TypeConverter compares by the new schemas too. A nil Cache returns
// ErrNoSchemas.
func (c *Cache) SchemaDigest(_ context.Context, gvs []schema.GroupVersion) (string, error) {
	if c == nil {
		return "", ErrNoSchemas
	}
	paths, err := c.client.Paths()
	if err != nil {
		return "", fmt.Errorf("listing OpenAPI documents: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	urls := make([]string, 0, len(gvs))
	for _, gv := range gvs {
		path := pathOf(gv)
		doc, ok := paths[path]
		if !ok {
			return "", fmt.Errorf("no OpenAPI document for %s", gv)
		}
		if old, ok := c.paths[path]; ok && old.ServerRelativeURL() != doc.ServerRelativeURL() {
			delete(c.schemas, gv)
			clear(c.converters)
		}
		urls = append(urls, doc.ServerRelativeURL())
	}
	c.paths = paths
	sort.Strings(urls)
	sum := sha256.Sum256([]byte(strings.Join(urls, "\n")))
	return hex.EncodeToString(sum[:]), nil
}

// pathOf is the path of gv's OpenAPI v3 document.
func pathOf(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "api/" + gv.Version
	}
	return "apis/" + gv.Group + "/" + gv.Version
}

// read returns the component schemas of gv's OpenAPI v3 document.
func (c *Cache) read(gv schema.GroupVersion) (map[string]*spec.Schema, error) {
	if s, ok := c.schemas[gv]; ok {
		return s, nil
	}
	path := pathOf(gv)
	doc, ok := c.paths[path]
	if !ok {
		// Not listed yet, or not when listed (a CRD's group appears some
		// seconds after the CRD): list again.
		paths, err := c.client.Paths()
		if err != nil {
			return nil, fmt.Errorf("listing OpenAPI documents: %w", err)
		}
		c.paths = paths
		if doc, ok = c.paths[path]; !ok {
			return nil, fmt.Errorf("no OpenAPI document for %s", gv)
		}
	}
	raw, err := doc.Schema("application/json")
	if err != nil {
		return nil, fmt.Errorf("reading the OpenAPI document of %s: %w", gv, err)
	}
	var o spec3.OpenAPI
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("parsing the OpenAPI document of %s: %w", gv, err)
	}
	if o.Components == nil {
		return nil, fmt.Errorf("the OpenAPI document of %s has no schemas", gv)
	}
	c.schemas[gv] = o.Components.Schemas
	return o.Components.Schemas, nil
}
