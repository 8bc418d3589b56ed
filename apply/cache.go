package apply

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/managedfields"
)

// Cache remembers, from one Apply or Transition to the next, which live
// objects were found to hold, owned by the field manager, exactly what was
// wanted, so that an object neither side changed since is not compared
// again. A live object is known by its UID and resourceVersion, which the
// API server changes on every write to it (another manager's too), and a
// wanted object by a hash of its canonical form: a remembered verdict holds
// exactly as long as neither changed, and anything else is compared afresh
// as without a Cache. The objects are still listed each time, so a deleted
// or changed object is seen.
//
// Keep one for the life of a controller, a rollout or any caller that
// applies the same objects again and again (see Options.Cache): a
// re-apply then costs its Lists alone. A caller that runs as a new process
// each time (a CI job) keeps it in a file between runs (LoadCache, Save):
// with a Client that names its schemas by a digest (Schemas.SchemaDigest;
// the adapters do), a verdict also records the digest it was reached by,
// holds in the next process as long as the schemas keep it, and the
// schemas themselves are read only when an object must be compared. It
// holds one small entry per object applied, is safe for concurrent use,
// and its zero value is ready to use.
type Cache struct {
	mu sync.Mutex
	m  map[string]verdict
}

// verdict is what was known of one object: applying the wanted object
// with this hash, as this manager, to the live object at this UID and
// resourceVersion, read through this type converter, changes nothing.
type verdict struct {
	uid             types.UID
	resourceVersion string
	manager         string
	want            [sha256.Size]byte
	// schema is the digest of the server's schemas (Schemas.SchemaDigest)
	// the verdict was reached by; when the Client names none, types is the
	// TypeConverter instead, and the verdict holds for its life alone.
	schema string
	types  managedfields.TypeConverter
}

// Len returns how many objects the cache knows.
func (c *Cache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// holds reports whether the cache knows live to be as wanted.
func (c *Cache) holds(id string, live metav1.Object, v verdict) bool {
	if c == nil || live == nil {
		return false
	}
	v.uid, v.resourceVersion = live.GetUID(), live.GetResourceVersion()
	c.mu.Lock()
	defer c.mu.Unlock()
	got, ok := c.m[id]
	return ok && got == v && v.resourceVersion != ""
}

// remember records that live is as wanted.
func (c *Cache) remember(id string, live metav1.Object, v verdict) {
	if c == nil || live == nil || live.GetResourceVersion() == "" {
		return
	}
	v.uid, v.resourceVersion = live.GetUID(), live.GetResourceVersion()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]verdict{}
	}
	c.m[id] = v
}

// forget drops what is known of an object (it was deleted, or found to
// differ).
func (c *Cache) forget(id string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// cacheFormat names the format of a written Cache; ReadCache refuses any
// other.
const cacheFormat = "mlmesh.dev/apply-cache/v1"

type cacheFile struct {
	Format   string        `json:"format"`
	Verdicts []cacheRecord `json:"verdicts"`
}

type cacheRecord struct {
	Object          string    `json:"object"`
	UID             types.UID `json:"uid"`
	ResourceVersion string    `json:"resourceVersion"`
	Manager         string    `json:"manager"`
	Want            string    `json:"want"`
	Schema          string    `json:"schema"`
}

// WriteTo writes the verdicts that hold beyond this process — those
// reached with schemas the Client named (Schemas.SchemaDigest) — for
// ReadCache to read back in another: a CI job that applies the same App
// on every run keeps them in a file between runs (Save, LoadCache). Each
// holds exactly as long as in this process: while the live object keeps
// its UID and resourceVersion, the wanted object hashes the same, the
// field manager is the same and the server's schemas have the same
// digest; anything else is compared afresh. The file holds no object's
// content, only those keys.
func (c *Cache) WriteTo(w io.Writer) (int64, error) {
	f := cacheFile{Format: cacheFormat, Verdicts: []cacheRecord{}}
	if c != nil {
		c.mu.Lock()
		for id, v := range c.m {
			if v.schema != "" && v.types == nil {
				f.Verdicts = append(f.Verdicts, cacheRecord{Object: id, UID: v.uid, ResourceVersion: v.resourceVersion,
					Manager: v.manager, Want: hex.EncodeToString(v.want[:]), Schema: v.schema})
			}
		}
		c.mu.Unlock()
	}
	slices.SortFunc(f.Verdicts, func(a, b cacheRecord) int { return strings.Compare(a.Object, b.Object) })
	b, err := json.Marshal(f)
	if err != nil {
		return 0, err
	}
	n, err := w.Write(append(b, '\n'))
	return int64(n), err
}

// ReadCache reads a Cache that WriteTo wrote.
func ReadCache(r io.Reader) (*Cache, error) {
	var f cacheFile
	if err := json.NewDecoder(r).Decode(&f); err != nil {
		return nil, fmt.Errorf("apply: reading a cache: %w", err)
	}
	if f.Format != cacheFormat {
		return nil, fmt.Errorf("apply: reading a cache: format %q, want %q", f.Format, cacheFormat)
	}
	c := &Cache{m: make(map[string]verdict, len(f.Verdicts))}
	for i, rec := range f.Verdicts {
		want, err := hex.DecodeString(rec.Want)
		if err != nil || len(want) != sha256.Size || rec.Object == "" || rec.ResourceVersion == "" || rec.Schema == "" {
			return nil, fmt.Errorf("apply: reading a cache: verdicts[%d] (%s) is malformed", i, rec.Object)
		}
		v := verdict{uid: rec.UID, resourceVersion: rec.ResourceVersion, manager: rec.Manager, schema: rec.Schema}
		copy(v.want[:], want)
		c.m[rec.Object] = v
	}
	return c, nil
}

// LoadCache reads the Cache that Save wrote to path; a path with no file
// yet gives an empty Cache (the first run).
func LoadCache(path string) (*Cache, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Cache{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := ReadCache(f)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return c, nil
}

// Save writes the Cache to path (WriteTo) whole or not at all: into a
// temporary file beside it, renamed over it once written.
func (c *Cache) Save(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = c.WriteTo(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("apply: saving the cache to %s: %w", path, err)
	}
	return nil
}
