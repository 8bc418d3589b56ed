package serving

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
)

// CacheVolume is a writable cache for a model server: downloaded weights,
// compiled kernels. It is an emptyDir of Size (lost with the pod) unless
// ClaimName names a PersistentVolumeClaim (kept across restarts).
type CacheVolume struct {
	// MountPath is where it is mounted; empty means /cache.
	MountPath string
	// Size limits the emptyDir; zero means no limit. Not with ClaimName.
	Size resource.Quantity
	// ClaimName is a PersistentVolumeClaim of the model's namespace to
	// mount instead of an emptyDir.
	ClaimName string
}

// ModelVolume mounts a model, read-only, from a PersistentVolumeClaim.
type ModelVolume struct {
	// ClaimName is the PersistentVolumeClaim. Required.
	ClaimName string
	// MountPath is where it is mounted; empty means /models. An empty
	// Version.ModelURI means this path; a ModelURI must be under it.
	MountPath string
	// SubPath mounts a directory of the volume instead of its root.
	SubPath string
}

// The names and paths of the volumes a Version asks for.
const (
	shmVolume     = "dshm"
	cacheVolume   = "cache"
	modelVolume   = "model"
	scratchVolume = "scratch"
	shmPath       = "/dev/shm"
	scratchPath   = "/tmp"
)

func (c *CacheVolume) mountPath() string {
	if c.MountPath == "" {
		return "/cache"
	}
	return c.MountPath
}

func (mv *ModelVolume) mountPath() string {
	if mv.MountPath == "" {
		return "/models"
	}
	return mv.MountPath
}

// modelURI is the version's model URI, the model volume's path when it
// is empty.
func (v Version) modelURI() string {
	if v.ModelURI == "" && v.ModelVolume != nil {
		return v.ModelVolume.mountPath()
	}
	return v.ModelURI
}

// sharedMemory is the size of /dev/shm, the runtime's default applied;
// zero means none.
func (v Version) sharedMemory(rt *Runtime) resource.Quantity {
	if v.SharedMemory != nil {
		return *v.SharedMemory
	}
	return rt.SharedMemory
}

// startupTimeout is how long the model may take to load; 0 means no
// startup probe.
func (v Version) startupTimeout(rt *Runtime) time.Duration {
	switch {
	case v.StartupTimeout < 0:
		return 0
	case v.StartupTimeout > 0:
		return v.StartupTimeout
	}
	return rt.StartupTimeout
}

// shutdownGrace is how long a terminating pod may finish its requests; 0
// leaves Kubernetes' 30 seconds.
func (v Version) shutdownGrace(rt *Runtime) time.Duration {
	if v.ShutdownGrace != 0 {
		return v.ShutdownGrace
	}
	return rt.ShutdownGrace
}

// downloads reports whether the server fetches its model over the network
// when it starts, which it cannot do before the pod's Istio proxy is ready.
func (v Version) downloads(rt *Runtime) bool { return fetchedAtStart(rt, v.modelURI()) }

// FetchedAtStart reports whether a server of runtime rt fetches the model
// at uri over the network when it starts: a URI with a scheme (s3://,
// gs://, https://), or, for a runtime with HubModels, a model hub's id
// (anything but a path).
func FetchedAtStart(rt Runtime, uri string) bool { return fetchedAtStart(&rt, uri) }

func fetchedAtStart(rt *Runtime, uri string) bool {
	return strings.Contains(uri, "://") || rt.HubModels && uri != "" && !strings.HasPrefix(uri, "/")
}

// volumes returns the version's volumes and the model container's mounts,
// those it asks for by field first, in a fixed order.
func (v Version) volumes(rt *Runtime) ([]corev1.Volume, []corev1.VolumeMount) {
	var vols []corev1.Volume
	var mounts []corev1.VolumeMount
	if shm := v.sharedMemory(rt); !shm.IsZero() {
		size := shm.DeepCopy() // allocated only here: most versions have none
		vols = append(vols, corev1.Volume{Name: shmVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &size}}})
		mounts = append(mounts, corev1.VolumeMount{Name: shmVolume, MountPath: shmPath})
	}
	if c := v.Cache; c != nil {
		src := corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
		if c.ClaimName != "" {
			src = corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.ClaimName}}
		} else if !c.Size.IsZero() {
			size := c.Size.DeepCopy()
			src.EmptyDir.SizeLimit = &size
		}
		vols = append(vols, corev1.Volume{Name: cacheVolume, VolumeSource: src})
		mounts = append(mounts, corev1.VolumeMount{Name: cacheVolume, MountPath: c.mountPath()})
	}
	if mv := v.ModelVolume; mv != nil {
		vols = append(vols, corev1.Volume{Name: modelVolume, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: mv.ClaimName, ReadOnly: true}}})
		mounts = append(mounts, corev1.VolumeMount{Name: modelVolume, MountPath: mv.mountPath(), SubPath: mv.SubPath, ReadOnly: true})
	}
	if v.Scratch != nil || v.ReadOnlyRoot {
		src := &corev1.EmptyDirVolumeSource{}
		if v.Scratch != nil && !v.Scratch.IsZero() {
			size := v.Scratch.DeepCopy()
			src.SizeLimit = &size
		}
		vols = append(vols, corev1.Volume{Name: scratchVolume, VolumeSource: corev1.VolumeSource{EmptyDir: src}})
		mounts = append(mounts, corev1.VolumeMount{Name: scratchVolume, MountPath: scratchPath})
	}
	for _, vol := range v.Volumes {
		vols = append(vols, *vol.DeepCopy())
	}
	for _, m := range v.VolumeMounts {
		mounts = append(mounts, *m.DeepCopy())
	}
	return vols, mounts
}

func (v Version) validatePod(p fieldpath.Path, rt *Runtime) field.ErrorList {
	var errs field.ErrorList
	for _, q := range []struct {
		name string
		q    *resource.Quantity
	}{{"sharedMemory", v.SharedMemory}, {"scratch", v.Scratch}} {
		if q.q != nil && q.q.Sign() < 0 {
			errs = append(errs, field.Invalid(p.Child(q.name).Field(), q.q.String(), "a size, 0 or more"))
		}
	}
	if c := v.Cache; c != nil {
		cp := p.Child("cache")
		if c.ClaimName != "" && !c.Size.IsZero() {
			errs = append(errs, field.Invalid(cp.Child("size").Field(), c.Size.String(), "an emptyDir's limit: a claim has its own size"))
		}
		errs = append(errs, checkClaim(cp.Child("claimName"), c.ClaimName, false)...)
		errs = append(errs, checkMountPath(cp.Child("mountPath"), c.MountPath)...)
	}
	if mv := v.ModelVolume; mv != nil {
		mp := p.Child("modelVolume")
		errs = append(errs, checkClaim(mp.Child("claimName"), mv.ClaimName, true)...)
		errs = append(errs, checkMountPath(mp.Child("mountPath"), mv.MountPath)...)
		if strings.HasPrefix(mv.SubPath, "/") || slices.Contains(strings.Split(mv.SubPath, "/"), "..") {
			errs = append(errs, field.Invalid(mp.Child("subPath").Field(), mv.SubPath, "a relative path without .."))
		}
		if u := v.ModelURI; u != "" && u != mv.mountPath() && !strings.HasPrefix(u, strings.TrimSuffix(mv.mountPath(), "/")+"/") {
			errs = append(errs, field.Invalid(p.Child("modelURI").Field(), u, fmt.Sprintf("a path under modelVolume's %s, or empty for the volume itself", mv.mountPath())))
		}
	}
	if v.ReadOnlyRoot && v.SecurityContext != nil {
		errs = append(errs, field.Invalid(p.Child("readOnlyRoot").Field(), true, "securityContext replaces the secure defaults this adds to: set readOnlyRootFilesystem there"))
	}
	if v.StartupTimeout > 0 && v.StartupTimeout < 10*time.Second {
		errs = append(errs, field.Invalid(p.Child("startupTimeout").Field(), v.StartupTimeout.String(), "at least 10s, the probe's period (negative turns it off)"))
	}
	if v.ShutdownGrace < 0 || v.ShutdownGrace%time.Second != 0 {
		errs = append(errs, field.Invalid(p.Child("shutdownGrace").Field(), v.ShutdownGrace.String(), "whole seconds, 0 or more"))
	}
	return append(errs, v.validateMounts(p, rt)...)
}

// validateMounts checks that every mount names a volume of the pod, and
// that no two volumes share a name nor two mounts a path.
func (v Version) validateMounts(p fieldpath.Path, rt *Runtime) field.ErrorList {
	var errs field.ErrorList
	vols, mounts := v.volumes(rt)
	builtin := len(vols) - len(v.Volumes)
	// Few volumes and mounts: looking back beats making maps.
	for k, vol := range vols {
		if k >= builtin {
			vp := p.Child("volumes").Index(k - builtin).Child("name")
			for _, msg := range check.DNS1123Label(vol.Name) {
				errs = append(errs, field.Invalid(vp.Field(), vol.Name, msg))
			}
			if slices.ContainsFunc(vols[:k], func(w corev1.Volume) bool { return w.Name == vol.Name }) {
				errs = append(errs, field.Duplicate(vp.Field(), vol.Name))
			}
		}
	}
	mbuiltin := len(mounts) - len(v.VolumeMounts)
	for k, m := range mounts {
		if k < mbuiltin {
			continue
		}
		mp := p.Child("volumeMounts").Index(k - mbuiltin)
		if !slices.ContainsFunc(vols, func(w corev1.Volume) bool { return w.Name == m.Name }) {
			errs = append(errs, field.NotFound(mp.Child("name").Field(), m.Name))
		}
		errs = append(errs, checkMountPath(mp.Child("mountPath"), m.MountPath)...)
		if m.MountPath == "" {
			errs = append(errs, field.Required(mp.Child("mountPath").Field(), "an absolute path"))
		}
		if slices.ContainsFunc(mounts[:k], func(n corev1.VolumeMount) bool { return n.MountPath == m.MountPath }) {
			errs = append(errs, field.Duplicate(mp.Child("mountPath").Field(), m.MountPath))
		}
	}
	return errs
}

func checkClaim(p fieldpath.Path, name string, required bool) field.ErrorList {
	if name == "" {
		if required {
			return field.ErrorList{field.Required(p.Field(), "a PersistentVolumeClaim of the model's namespace")}
		}
		return nil
	}
	var errs field.ErrorList
	for _, msg := range check.DNS1123Subdomain(name) {
		errs = append(errs, field.Invalid(p.Field(), name, msg))
	}
	return errs
}

func checkMountPath(p fieldpath.Path, path string) field.ErrorList {
	if path != "" && (!strings.HasPrefix(path, "/") || strings.Contains(path, ":")) {
		return field.ErrorList{field.Invalid(p.Field(), path, "an absolute path without ':'")}
	}
	return nil
}
