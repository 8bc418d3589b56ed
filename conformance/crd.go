package conformance

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
)

// CRDFile is where Istio's module ships its CRDs, all in one file.
const CRDFile = "manifests/charts/base/files/crd-all.gen.yaml"

// IstioCRDPath returns the path of Istio's CRDs in the module cache: the
// module directory of the istio.io/istio version this module requires. It
// asks the go command nothing but GOMODCACHE: "go list -m" would fetch the
// version's .info, which the module proxy refuses for Istio's
// pseudo-versions on an empty cache.
func IstioCRDPath() (string, error) {
	gomod, err := os.ReadFile(filepath.Join(RepoRoot(), "conformance", "go.mod"))
	if err != nil {
		return "", err
	}
	version := ""
	for _, line := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "istio.io/istio" {
			version = f[1]
		} else if len(f) >= 3 && f[0] == "require" && f[1] == "istio.io/istio" {
			version = f[2]
		}
	}
	if version == "" {
		return "", fmt.Errorf("conformance/go.mod requires no istio.io/istio")
	}
	cache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	path := filepath.Join(strings.TrimSpace(string(cache)), "istio.io", "istio@"+version, CRDFile)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("Istio's CRDs are not in the module cache (go mod download istio.io/istio@%s): %w", version, err)
	}
	return path, nil
}

// crdVersion is what the API server checks an object of one CRD version
// against.
type crdVersion struct {
	structural *structuralschema.Structural
	validator  apiservervalidation.SchemaValidator
	cel        *cel.Validator
	rules      int
}

// CRDs checks objects against CRD schemas as the API server does, offline.
type CRDs struct {
	versions map[schema.GroupVersionKind]*crdVersion
	// Rules counts the CEL rules (x-kubernetes-validations) loaded.
	Rules int
}

var (
	istioCRDs     *CRDs
	istioCRDsErr  error
	istioCRDsOnce sync.Once
)

// IstioCRDs loads once the CRDs of what mlmesh builds: Istio's, and the
// standard channel of the Gateway API Istio pins (GatewayAPICRDs).
func IstioCRDs() (*CRDs, error) {
	istioCRDsOnce.Do(func() {
		data, err := MeshCRDs()
		if err != nil {
			istioCRDsErr = err
			return
		}
		istioCRDs, istioCRDsErr = LoadCRDs(data)
	})
	return istioCRDs, istioCRDsErr
}

// MeshCRDs returns, as one YAML stream, Istio's CRDs, the Gateway API's
// standard ones and the Inference Extension's (InferencePool and its alpha
// kinds), at the
// versions conformance/go.mod requires (those Istio pins).
func MeshCRDs() ([]byte, error) {
	path, err := IstioCRDPath()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	gw, err := GatewayAPICRDs()
	if err != nil {
		return nil, err
	}
	pool, err := moduleCRDs("sigs.k8s.io/gateway-api-inference-extension", "config/crd/bases/inference.networking.k8s.io_inferencepools.yaml")
	if err != nil {
		return nil, err
	}
	// The extension's alpha kinds: InferenceModelRewrite (an adapter's
	// canary), InferenceObjective, InferencePoolImport.
	alpha, err := moduleCRDs("sigs.k8s.io/gateway-api-inference-extension", "config/crd/bases/inference.networking.x-k8s.io_*.yaml")
	if err != nil {
		return nil, err
	}
	return append(append(append(append(data, "\n---\n"...), gw...), pool...), alpha...), nil
}

// GatewayAPICRDs returns the standard channel's CRDs of the Gateway API
// module that conformance/go.mod requires (the version Istio
// pins), from the module cache, as one YAML stream.
func GatewayAPICRDs() ([]byte, error) {
	return moduleCRDs("sigs.k8s.io/gateway-api", "config/crd/standard/gateway.networking.k8s.io_*.yaml")
}

// moduleCRDs returns the files matching pattern (a path in the module) of
// the version of module that conformance/go.mod requires, from
// the module cache, as one YAML stream.
func moduleCRDs(module, pattern string) ([]byte, error) {
	version, err := moduleVersion(module)
	if err != nil {
		return nil, err
	}
	cache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(cache)), filepath.FromSlash(module)+"@"+version)
	files, err := filepath.Glob(filepath.Join(dir, filepath.FromSlash(pattern)))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("the CRDs %s are not in the module cache at %s (go mod download %s@%s): %v", pattern, dir, module, version, err)
	}
	var out []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(append(out, "\n---\n"...), b...)
	}
	return out, nil
}

// moduleVersion is the version of module that conformance/go.mod
// requires.
func moduleVersion(module string) (string, error) {
	gomod, err := os.ReadFile(filepath.Join(RepoRoot(), "conformance", "go.mod"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == module {
			return f[1], nil
		}
		if len(f) >= 3 && f[0] == "require" && f[1] == module {
			return f[2], nil
		}
	}
	return "", fmt.Errorf("conformance/go.mod requires no %s", module)
}

// LoadCRDs reads a YAML stream of CustomResourceDefinitions.
func LoadCRDs(stream []byte) (*CRDs, error) {
	b, err := ParseBundle("crds", stream)
	if err != nil {
		return nil, err
	}
	c := &CRDs{versions: map[schema.GroupVersionKind]*crdVersion{}}
	for _, u := range b.Objects {
		if u.GetKind() != "CustomResourceDefinition" {
			continue
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &crd); err != nil {
			return nil, fmt.Errorf("%s: %w", u.GetName(), err)
		}
		for _, v := range crd.Spec.Versions {
			if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			var internal apiextensions.CustomResourceValidation
			if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(v.Schema, &internal, nil); err != nil {
				return nil, fmt.Errorf("%s %s: %w", crd.Name, v.Name, err)
			}
			st, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
			if err != nil {
				return nil, fmt.Errorf("%s %s: structural schema: %w", crd.Name, v.Name, err)
			}
			sv, _, err := apiservervalidation.NewSchemaValidator(internal.OpenAPIV3Schema)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", crd.Name, v.Name, err)
			}
			cv := &crdVersion{structural: st, validator: sv, cel: cel.NewValidator(st, true, celconfig.PerCallLimit), rules: countRules(st)}
			c.Rules += cv.rules
			gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}
			c.versions[gvk] = cv
		}
	}
	return c, nil
}

func countRules(s *structuralschema.Structural) int {
	if s == nil {
		return 0
	}
	n := len(s.XValidations)
	for _, p := range s.Properties {
		n += countRules(&p)
	}
	if s.Items != nil {
		n += countRules(s.Items)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Structural != nil {
		n += countRules(s.AdditionalProperties.Structural)
	}
	return n
}

// Check validates one object as the API server would on create: unknown
// fields (which the server prunes, and rejects under strict field
// validation), then defaulting, the OpenAPI schema and the CEL rules.
func (c *CRDs) Check(u *unstructured.Unstructured) field.ErrorList {
	v, ok := c.versions[u.GroupVersionKind()]
	if !ok {
		return field.ErrorList{field.NotFound(field.NewPath("apiVersion"), u.GetAPIVersion()+"/"+u.GetKind())}
	}
	obj := u.DeepCopy().Object
	var errs field.ErrorList
	opts := structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}
	for _, p := range pruning.PruneWithOptions(obj, v.structural, true, opts) {
		errs = append(errs, field.Invalid(field.NewPath(p), nil, "unknown field"))
	}
	structuraldefaulting.Default(obj, v.structural)
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, obj, v.validator)...)
	celErrs, _ := v.cel.Validate(context.Background(), nil, v.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	errs = append(errs, celErrs...)
	return errs
}
