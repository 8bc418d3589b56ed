package egress

import (
	"fmt"
	"net/netip"
	"strings"

	apiv1 "istio.io/api/networking/v1"
	"istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh"
	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/names"
)

// ValidationError reports every problem in a spec, each with its field path.
// Its Unwrap method returns each problem as a *field.Error
// (k8s.io/apimachinery/pkg/util/validation/field).
type ValidationError = mlmesh.ValidationError

// Resolution is how the sidecar finds the addresses of the hosts.
type Resolution string

// ServiceEntry resolutions.
const (
	// DNS resolves the hosts by DNS. Hosts must not be wildcards.
	DNS Resolution = "DNS"
	// None forwards to the address the application connected to; needed
	// for wildcard hosts.
	None Resolution = "NONE"
)

// Protocol is what a port of an external service speaks: mlmesh.Protocol,
// the type serving and ingress use too.
type Protocol = mlmesh.Protocol

// External port protocols.
const (
	TLS   = mlmesh.TLS
	HTTPS = mlmesh.HTTPS
	HTTP  = mlmesh.HTTP
	TCP   = mlmesh.TCP
)

// Port is one port of an external service.
type Port struct {
	// Number is the port the application connects to, 1-65535. Required.
	Number uint32
	// Name names the port; empty means the protocol in lowercase.
	Name string
	// Protocol is what the application speaks on Number; empty means HTTP
	// when OriginateTLS is set. Required otherwise.
	Protocol Protocol
	// TargetPort is the port of the external host the sidecar connects to;
	// 0 means Number, or 443 when OriginateTLS is set.
	TargetPort uint32
	// OriginateTLS lets the application speak plain HTTP to Number while
	// the sidecar opens TLS to TargetPort, with SNI set to the host, and
	// verifies the server's certificate against Spec.CACertificates.
	// Protocol must be HTTP; hosts must not be wildcards (TLS needs a
	// server name).
	OriginateTLS bool
}

// DefaultCACertificates is the certificate authority bundle of Istio's
// proxy images (the operating system's trust store), which verifies the
// servers of originated TLS unless Spec.CACertificates names another.
const DefaultCACertificates = "/etc/ssl/certs/ca-certificates.crt"

// Spec is an external service the mesh's workloads may reach: a model store
// or an external API. It builds into a ServiceEntry with location
// MESH_EXTERNAL and, when a port originates TLS, a DestinationRule per host.
type Spec struct {
	// Name names the ServiceEntry (and DestinationRule). A DNS-1123 label. Required.
	Name string
	// Namespace is where it goes; empty means "default".
	Namespace string
	// Hosts are the external hostnames; "*.example.com" needs Resolution None.
	Hosts []string
	// Ports are the ports reached; empty means 443 speaking TLS (the
	// application does TLS itself, the sidecar routes by SNI).
	Ports []Port
	// Resolution is DNS (the zero value means DNS) or None.
	Resolution Resolution
	// Addresses are the IPs or CIDR blocks the application connects to,
	// required for TCP ports: TCP carries no host name for the sidecar to
	// route by.
	Addresses []string
	// ExportTo limits the namespaces that see the entry ("." is this
	// namespace, "*" all); empty means all. Model stores are best kept to ".".
	ExportTo []string
	// CACertificates is the file, in the sidecar, of the certificate
	// authorities that verify an external server on the ports that
	// originate TLS; empty means DefaultCACertificates. It is written out,
	// so that Istio's analyzers see a verified connection (IST0128/IST0129).
	CACertificates string
	// Labels are put on the objects.
	Labels map[string]string
}

// OriginateTLS is the usual way to reach an HTTPS service from an
// application that speaks plain HTTP, as Istio's egress TLS origination
// task sets it up: port 80 (HTTP) sent as TLS to port 443, beside port 443
// for clients that do TLS themselves.
func OriginateTLS() []Port {
	return []Port{{Number: 80, OriginateTLS: true}, {Number: 443, Protocol: TLS}}
}

// S3 is Amazon S3 in a region (path-style and, for each bucket given,
// virtual-hosted-style endpoints), over TLS on 443, visible to its own
// namespace only.
func S3(name, namespace, region string, buckets ...string) Spec {
	hosts := []string{"s3." + region + ".amazonaws.com"}
	if region == "us-east-1" {
		hosts = append(hosts, "s3.amazonaws.com")
	}
	for _, b := range buckets {
		hosts = append(hosts, b+".s3."+region+".amazonaws.com")
	}
	return Spec{Name: name, Namespace: namespace, Hosts: hosts, ExportTo: []string{"."}}
}

// GCS is Google Cloud Storage (storage.googleapis.com) and the OAuth2
// endpoint its clients refresh tokens from, over TLS on 443, visible to its
// own namespace only.
func GCS(name, namespace string) Spec {
	return Spec{Name: name, Namespace: namespace, Hosts: []string{"storage.googleapis.com", "oauth2.googleapis.com"}, ExportTo: []string{"."}}
}

// AzureBlob is an Azure Blob Storage account
// (<account>.blob.core.windows.net) and the Entra ID login endpoint, over TLS
// on 443, visible to its own namespace only.
func AzureBlob(name, namespace, account string) Spec {
	return Spec{Name: name, Namespace: namespace, Hosts: []string{account + ".blob.core.windows.net", "login.microsoftonline.com"}, ExportTo: []string{"."}}
}

// API is any external HTTPS API, over TLS on 443.
func API(name, namespace string, hosts ...string) Spec {
	return Spec{Name: name, Namespace: namespace, Hosts: hosts}
}

func (s Spec) namespace() string {
	if s.Namespace == "" {
		return "default"
	}
	return s.Namespace
}

func (s Spec) resolution() Resolution {
	if s.Resolution == "" {
		return DNS
	}
	return s.Resolution
}

func (s Spec) ports() []Port {
	if len(s.Ports) == 0 {
		return []Port{{Number: 443, Name: "tls", Protocol: TLS}}
	}
	return s.Ports
}

func (s Spec) originates() bool {
	for _, p := range s.Ports {
		if p.OriginateTLS {
			return true
		}
	}
	return false
}

// tcpBased reports whether a port is TCP, TLS or HTTPS (the default port
// is TLS), as Istio's protocol.IsTCP counts them.
func (s Spec) tcpBased() bool {
	for _, p := range s.ports() {
		switch p.protocol() {
		case TCP, TLS, HTTPS:
			return true
		}
	}
	return false
}

func (s Spec) hasPort(p Protocol) bool {
	for _, port := range s.ports() {
		if port.protocol() == p {
			return true
		}
	}
	return false
}

func (s Spec) caCertificates() string {
	if s.CACertificates == "" {
		return DefaultCACertificates
	}
	return s.CACertificates
}

func (p Port) protocol() Protocol {
	if p.Protocol == "" && p.OriginateTLS {
		return HTTP
	}
	return p.Protocol
}

func (p Port) targetPort() uint32 {
	switch {
	case p.TargetPort != 0:
		return p.TargetPort
	case p.OriginateTLS:
		return 443
	}
	return 0 // the same as Number
}

func (p Port) name() string {
	if p.Name != "" {
		return p.Name
	}
	return strings.ToLower(string(p.protocol()))
}

// maxHosts is the most hosts Istio's ServiceEntry schema allows.
const maxHosts = 256

// Validate reports every problem in s at once, as a *ValidationError, or nil.
func (s Spec) Validate() error {
	var errs field.ErrorList
	errs = append(errs, check.Name(fieldpath.New("name"), s.Name)...)
	if s.Namespace != "" {
		errs = append(errs, check.Label(fieldpath.New("namespace"), s.Namespace)...)
	}
	if len(s.Hosts) == 0 {
		errs = append(errs, field.Required(fieldpath.New("hosts").Field(), "at least one external hostname"))
	}
	if len(s.Hosts) > maxHosts {
		errs = append(errs, field.TooMany(fieldpath.New("hosts").Field(), len(s.Hosts), maxHosts))
	}
	seen := map[string]bool{}
	for i, h := range s.Hosts {
		p := fieldpath.New("hosts").Index(i)
		herrs := check.Host(p, h, true, false)
		errs = append(errs, herrs...)
		if len(herrs) == 0 && strings.HasPrefix(h, "*.") && s.resolution() == DNS {
			errs = append(errs, field.Invalid(p.Field(), h, "a wildcard host cannot be resolved by DNS: use resolution NONE"))
		}
		if seen[h] {
			errs = append(errs, field.Duplicate(p.Field(), h))
		}
		seen[h] = true
	}
	// (A plain TCP port with several hosts is reported at the port.)
	if len(s.Addresses) > 0 && len(s.Hosts) > 1 && s.resolution() == DNS && s.tcpBased() && !s.hasPort(TCP) {
		errs = append(errs, field.Invalid(fieldpath.New("addresses").Field(), s.Addresses, fmt.Sprintf(
			"with DNS resolution, addresses on a TLS, HTTPS or TCP port belong to one host, and there are %d: one egress per host, or resolution NONE", len(s.Hosts))))
	}
	for i, a := range s.Addresses {
		ap := fieldpath.New("addresses").Index(i)
		if _, err := netip.ParsePrefix(a); err == nil {
			if s.resolution() != None {
				errs = append(errs, field.Invalid(ap.Field(), a, "a CIDR block needs resolution NONE: DNS resolution gives each host its addresses"))
			}
		} else if _, err := netip.ParseAddr(a); err != nil {
			errs = append(errs, field.Invalid(ap.Field(), a, "an IP address or a CIDR block"))
		}
	}
	switch s.resolution() {
	case DNS, None:
	default:
		errs = append(errs, field.NotSupported(fieldpath.New("resolution").Field(), s.Resolution, []Resolution{DNS, None}))
	}
	errs = append(errs, s.validatePorts()...)
	if s.CACertificates != "" && !strings.HasPrefix(s.CACertificates, "/") {
		errs = append(errs, field.Invalid(fieldpath.New("caCertificates").Field(), s.CACertificates, "an absolute path of a file in the sidecar"))
	}
	errs = append(errs, check.ExportTo(fieldpath.New("exportTo"), s.ExportTo, s.namespace())...)
	errs = append(errs, check.Labels(fieldpath.New("labels"), s.Labels)...)
	return fielderr.New("egress.Spec", errs)
}

func (s Spec) validatePorts() field.ErrorList {
	var errs field.ErrorList
	numbers := map[uint32]bool{}
	names := map[string]bool{}
	for i, port := range s.Ports {
		p := fieldpath.New("ports").Index(i)
		if port.Number == 0 || port.Number > 65535 {
			errs = append(errs, field.Invalid(p.Child("number").Field(), port.Number, "a port number between 1 and 65535"))
		}
		if numbers[port.Number] {
			errs = append(errs, field.Duplicate(p.Child("number").Field(), port.Number))
		}
		numbers[port.Number] = true
		if port.TargetPort > 65535 {
			errs = append(errs, field.Invalid(p.Child("targetPort").Field(), port.TargetPort, "a port number between 1 and 65535, or 0 for number"))
		}
		switch port.protocol() {
		case TLS, HTTPS, HTTP:
		case TCP:
			if len(s.Addresses) == 0 {
				errs = append(errs, field.Required(fieldpath.New("addresses").Field(), fmt.Sprintf("ports[%d] is TCP, which carries no host name: the IPs or CIDRs the application connects to", i)))
			}
			if len(s.Hosts) > 1 && s.resolution() != None {
				errs = append(errs, field.Invalid(p.Child("protocol").Field(), port.Protocol, fmt.Sprintf("a TCP port cannot tell %d hosts apart (no Host header, no SNI): one host per egress, or resolution NONE", len(s.Hosts))))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("protocol").Field(), port.Protocol, []Protocol{TLS, HTTPS, HTTP, TCP}))
		}
		if port.OriginateTLS {
			if port.protocol() != HTTP {
				errs = append(errs, field.Invalid(p.Child("protocol").Field(), port.Protocol, "originateTLS takes plain HTTP from the application: protocol HTTP"))
			}
			for j, h := range s.Hosts {
				if strings.HasPrefix(h, "*") {
					errs = append(errs, field.Invalid(fieldpath.New("hosts").Index(j).Field(), h, fmt.Sprintf("ports[%d] originates TLS, which needs a server name: no wildcard hosts", i)))
				}
			}
		}
		if n := port.name(); n != "" {
			for _, msg := range check.DNS1123Label(n) {
				errs = append(errs, field.Invalid(p.Child("name").Field(), n, msg))
			}
			if names[n] {
				errs = append(errs, field.Duplicate(p.Child("name").Field(), n))
			}
			names[n] = true
		}
	}
	return errs
}

func (s Spec) meta() metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:      s.Name,
		Namespace: s.namespace(),
		Labels:    labels.Merge(s.Labels, map[string]string{labels.ManagedBy: labels.Manager}),
	}
}

// ServiceEntry validates s and returns its ServiceEntry.
func ServiceEntry(s Spec) (*networkingv1.ServiceEntry, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	se := &networkingv1.ServiceEntry{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "ServiceEntry"},
		ObjectMeta: s.meta(),
	}
	se.Spec.Hosts = append([]string(nil), s.Hosts...)
	se.Spec.Location = apiv1.ServiceEntry_MESH_EXTERNAL
	se.Spec.Resolution = v1alpha3.ServiceEntry_Resolution(v1alpha3.ServiceEntry_Resolution_value[string(s.resolution())])
	se.Spec.ExportTo = append([]string(nil), s.ExportTo...)
	se.Spec.Addresses = append([]string(nil), s.Addresses...)
	for _, p := range s.ports() {
		se.Spec.Ports = append(se.Spec.Ports, &apiv1.ServicePort{Number: p.Number, Name: p.name(), Protocol: string(p.protocol()), TargetPort: p.targetPort()})
	}
	return se, nil
}

// DestinationRules validates s and returns the DestinationRules that
// originate TLS: one per host (named <name>-<i> when there are several),
// with TLS SIMPLE, the host as SNI and the CA bundle on each port that
// originates TLS; none when no port does.
func DestinationRules(s Spec) ([]*networkingv1.DestinationRule, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if !s.originates() {
		return nil, nil
	}
	var out []*networkingv1.DestinationRule
	for i, h := range s.Hosts {
		dr := &networkingv1.DestinationRule{
			TypeMeta:   metav1.TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "DestinationRule"},
			ObjectMeta: s.meta(),
		}
		dr.Name = names.EgressDestinationRule(s.Name, i, len(s.Hosts))
		dr.Spec.Host = h
		dr.Spec.ExportTo = append([]string(nil), s.ExportTo...)
		dr.Spec.TrafficPolicy = &apiv1.TrafficPolicy{}
		for _, p := range s.Ports {
			if !p.OriginateTLS {
				continue
			}
			dr.Spec.TrafficPolicy.PortLevelSettings = append(dr.Spec.TrafficPolicy.PortLevelSettings, &apiv1.TrafficPolicy_PortTrafficPolicy{
				Port: &apiv1.PortSelector{Number: p.Number},
				Tls:  &apiv1.ClientTLSSettings{Mode: apiv1.ClientTLSSettings_SIMPLE, Sni: h, CaCertificates: s.caCertificates()},
			})
		}
		out = append(out, dr)
	}
	return out, nil
}
