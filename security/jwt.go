package security

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	securityapi "istio.io/api/security/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
)

// JWT is how the tokens of one issuer are validated.
type JWT struct {
	// Issuer is the token's "iss". Required.
	Issuer string
	// JWKSURI is where the issuer's public keys are (https://…); istiod
	// fetches them. Exactly one of JWKSURI and JWKS.
	JWKSURI string
	// JWKS is the issuer's public keys, inline, as a JSON Web Key Set.
	JWKS string
	// Audiences are the "aud" values accepted; empty accepts any.
	Audiences []string
	// FromHeaders are where the token is read; empty, and without
	// FromParams and FromCookies, means "Authorization: Bearer <token>".
	FromHeaders []TokenHeader
	// FromParams are query parameters holding the token.
	FromParams []string
	// FromCookies are cookies holding the token.
	FromCookies []string
	// ClaimHeaders copy claims of a valid token into request headers, for
	// the model server to read.
	ClaimHeaders []ClaimHeader
	// ForwardOriginalToken keeps the token in the request after it is
	// validated; by default the proxy removes it. A gateway must forward
	// it when the model behind it validates the token again.
	ForwardOriginalToken bool
}

// TokenHeader is a request header holding a token, after Prefix.
type TokenHeader struct {
	Name   string
	Prefix string // "Bearer " for the Authorization header
}

// ClaimHeader copies a claim of a valid token into a request header.
type ClaimHeader struct {
	Claim  string // a top-level claim ("sub"), or a nested one ("a.b")
	Header string
}

// Authentication is a RequestAuthentication: which tokens are valid for
// the pods it selects. A request with an invalid token is refused (401);
// a request without one passes, unless an AuthorizationPolicy requires a
// request principal (see TokenRequired).
type Authentication struct {
	// Name names it. A DNS-1123 subdomain. Required.
	Name string
	// Namespace is where it goes; empty means "default".
	Namespace string
	// Selector picks the pods; empty means every workload of the namespace.
	Selector map[string]string
	// Gateway names a Gateway API Gateway of Namespace whose pods the authentication
	// applies to (a targetRef), instead of Selector: Istio ignores a
	// selector of a Gateway API Gateway's pods.
	Gateway string
	// Services names Services of Namespace whose waypoint applies the
	// authentication to the requests for them (targetRefs, in ambient mode),
	// instead of Selector or Gateway: a waypoint applies only policies that
	// target it or its Services. At most 16.
	Services []string
	// JWT are the accepted issuers, at least one, issuers unique.
	JWT []JWT
	// Labels are put on the object.
	Labels map[string]string
}

// Validate reports every problem in a at once, as a *ValidationError, or nil.
func (a Authentication) Validate() error {
	errs := checkMeta(a.Name, a.Namespace, a.Selector, a.Labels)
	errs = append(errs, checkTarget(a.Gateway, a.Services, a.Selector)...)
	if len(a.JWT) == 0 {
		errs = append(errs, field.Required(fieldpath.New("jwt").Field(), "at least one issuer"))
	}
	for i, j := range a.JWT {
		p := fieldpath.New("jwt").Index(i)
		errs = append(errs, j.validate(p)...)
		if k := slices.IndexFunc(a.JWT[:i], func(o JWT) bool { return o.Issuer == j.Issuer }); k >= 0 && j.Issuer != "" {
			errs = append(errs, field.Duplicate(p.Child("issuer").Field(), j.Issuer))
		}
	}
	return fielderr.New("security.Authentication", errs)
}

// Validate reports every problem in j at once, as a *ValidationError, or
// nil; paths are j's own ("jwksURI").
func (j JWT) Validate() error { return fielderr.New("security.JWT", j.validate(fieldpath.Path{})) }

func (j JWT) validate(p fieldpath.Path) field.ErrorList {
	var errs field.ErrorList
	if strings.TrimSpace(j.Issuer) == "" {
		errs = append(errs, field.Required(p.Child("issuer").Field(), "the token issuer (iss)"))
	}
	switch {
	case j.JWKSURI == "" && j.JWKS == "":
		errs = append(errs, field.Required(p.Child("jwksURI").Field(), "the URL of the issuer's keys, or jwks inline"))
	case j.JWKSURI != "" && j.JWKS != "":
		errs = append(errs, field.Invalid(p.Child("jwks").Field(), field.OmitValueType{}, "either jwksURI or jwks, not both"))
	case j.JWKSURI != "":
		if u, err := url.Parse(j.JWKSURI); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Hostname() == "" {
			errs = append(errs, field.Invalid(p.Child("jwksURI").Field(), j.JWKSURI, "an http or https URL with a host"))
		}
	default:
		errs = append(errs, checkJWKS(p.Child("jwks"), j.JWKS)...)
	}
	for i, a := range j.Audiences {
		if a == "" {
			errs = append(errs, field.Required(p.Child("audiences").Index(i).Field(), "an audience"))
		}
	}
	for i, h := range j.FromHeaders {
		for _, msg := range check.HTTPHeaderName(h.Name) {
			errs = append(errs, field.Invalid(p.Child("fromHeaders").Index(i).Child("name").Field(), h.Name, msg))
		}
	}
	for i, q := range j.FromParams {
		if q == "" {
			errs = append(errs, field.Required(p.Child("fromParams").Index(i).Field(), "a query parameter name"))
		}
	}
	for i, c := range j.FromCookies {
		if c == "" || strings.ContainsAny(c, "=; \t") {
			errs = append(errs, field.Invalid(p.Child("fromCookies").Index(i).Field(), c, "a cookie name"))
		}
	}
	for i, c := range j.ClaimHeaders {
		cp := p.Child("claimHeaders").Index(i)
		if c.Claim == "" {
			errs = append(errs, field.Required(cp.Child("claim").Field(), "a claim name"))
		}
		for _, msg := range check.HTTPHeaderName(c.Header) {
			errs = append(errs, field.Invalid(cp.Child("header").Field(), c.Header, msg))
		}
	}
	return errs
}

// RequestAuthentication validates a and returns its RequestAuthentication.
func RequestAuthentication(a Authentication) (*securityv1.RequestAuthentication, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a.requestAuthentication(), nil
}

func (a *Authentication) requestAuthentication() *securityv1.RequestAuthentication {
	ra := &securityv1.RequestAuthentication{
		TypeMeta:   metav1.TypeMeta{APIVersion: "security.istio.io/v1", Kind: "RequestAuthentication"},
		ObjectMeta: meta(a.Name, a.Namespace, a.Labels),
	}
	ra.Spec.Selector = selector(a.Selector)
	ra.Spec.TargetRefs = targetRefs(a.Gateway, a.Services)
	for _, j := range a.JWT {
		r := &securityapi.JWTRule{
			Issuer: j.Issuer, JwksUri: j.JWKSURI, Jwks: j.JWKS,
			Audiences: slices.Clone(j.Audiences), FromParams: slices.Clone(j.FromParams),
			FromCookies: slices.Clone(j.FromCookies), ForwardOriginalToken: j.ForwardOriginalToken,
		}
		for _, h := range j.FromHeaders {
			r.FromHeaders = append(r.FromHeaders, &securityapi.JWTHeader{Name: h.Name, Prefix: h.Prefix})
		}
		for _, c := range j.ClaimHeaders {
			r.OutputClaimToHeaders = append(r.OutputClaimToHeaders, &securityapi.ClaimToHeader{Header: c.Header, Claim: c.Claim})
		}
		ra.Spec.JwtRules = append(ra.Spec.JwtRules, r)
	}
	return ra
}

// checkJWKS checks an inline key set as Istio reads it: a JSON Web Key Set
// of public keys. Private key material is refused: the proxies need only
// the public keys, and Istio warns about it.
func checkJWKS(p fieldpath.Path, jwks string) field.ErrorList {
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal([]byte(jwks), &set); err != nil {
		return field.ErrorList{field.Invalid(p.Field(), field.OmitValueType{}, "a JSON Web Key Set: "+err.Error())}
	}
	if len(set.Keys) == 0 {
		return field.ErrorList{field.Invalid(p.Field(), field.OmitValueType{}, `a JSON Web Key Set with at least one key in "keys"`)}
	}
	var errs field.ErrorList
	for i, k := range set.Keys {
		kty, _ := k["kty"].(string)
		switch {
		case kty != "RSA" && kty != "EC" && kty != "OKP":
			errs = append(errs, field.Invalid(p.Field(), field.OmitValueType{}, fmt.Sprintf("keys[%d]: a public key of kty RSA, EC or OKP, not %q", i, kty)))
			continue
		case k["d"] != nil:
			errs = append(errs, field.Invalid(p.Field(), field.OmitValueType{}, fmt.Sprintf("keys[%d] holds a private key (\"d\"): publish only the public key", i)))
		}
		for _, member := range keyMembers[kty] {
			v, _ := k[member].(string)
			if _, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "=")); v == "" || err != nil {
				errs = append(errs, field.Invalid(p.Field(), field.OmitValueType{}, fmt.Sprintf("keys[%d]: %s key member %q in base64url", i, kty, member)))
			}
		}
	}
	return errs
}

// keyMembers are the members a public key of each type must have, in
// base64url (RFC 7518).
var keyMembers = map[string][]string{"RSA": {"n", "e"}, "EC": {"x", "y"}, "OKP": {"x"}}
