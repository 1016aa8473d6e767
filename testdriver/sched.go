package testdriver

import (
	"context"
	"fmt"

	"github.com/virtrpc/virtrpc/gen/libvirt"
	"github.com/virtrpc/virtrpc/gen/remote"
	"github.com/virtrpc/virtrpc/rpc"
)

// The scheduler of libvirt's test driver: "fair", with one parameter,
// weight (a uint), 50 for every domain. libvirt's test driver checks a new
// weight, answers success and keeps 50, and so does this one: a program
// tested against it sees what it would see against libvirt's.

// defaultWeight is the weight libvirt's test driver reports.
const defaultWeight = 50

// DomainGetSchedulerType answers "fair", with one parameter.
func (d *Driver) DomainGetSchedulerType(ctx context.Context, args *remote.DomainGetSchedulerTypeArgs) (*remote.DomainGetSchedulerTypeRet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.find(args.Dom); err != nil {
		return nil, err
	}
	return &remote.DomainGetSchedulerTypeRet{Type: "fair", Nparams: 1}, nil
}

// DomainGetSchedulerParameters returns the weight.
func (d *Driver) DomainGetSchedulerParameters(ctx context.Context, args *remote.DomainGetSchedulerParametersArgs) (*remote.DomainGetSchedulerParametersRet, error) {
	ps, err := d.schedParams(args.Dom, args.Nparams, 0)
	if err != nil {
		return nil, err
	}
	return &remote.DomainGetSchedulerParametersRet{Params: ps}, nil
}

// DomainGetSchedulerParametersFlags returns the weight; as libvirt's test
// driver, it takes no flags.
func (d *Driver) DomainGetSchedulerParametersFlags(ctx context.Context, args *remote.DomainGetSchedulerParametersFlagsArgs) (*remote.DomainGetSchedulerParametersFlagsRet, error) {
	// In libvirtd, virDomainGetSchedulerParametersFlags adds
	// VIR_TYPED_PARAM_STRING_OKAY for a driver that takes string values,
	// as the test driver does, and the test driver then refuses it: over
	// the wire this call always fails there, and so it does here.
	ps, err := d.schedParams(args.Dom, args.Nparams, args.Flags|uint32(libvirt.TypedParamStringOkay))
	if err != nil {
		return nil, err
	}
	return &remote.DomainGetSchedulerParametersFlagsRet{Params: ps}, nil
}

func (d *Driver) schedParams(dom remote.NonnullDomain, nparams int32, flags uint32) ([]remote.TypedParam, error) {
	if flags != 0 {
		return nil, errFlags("testDomainGetSchedulerParametersFlags", flags)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.find(dom); err != nil {
		return nil, err
	}
	if nparams < 1 {
		return nil, nil
	}
	var v remote.TypedParamValue
	v.SetUI(defaultWeight) // whatever was set: libvirt's keeps nothing

	return []remote.TypedParam{{Field: string(libvirt.DomainSchedulerWeight), Value: v}}, nil
}

// DomainSetSchedulerParameters sets the weight.
func (d *Driver) DomainSetSchedulerParameters(ctx context.Context, args *remote.DomainSetSchedulerParametersArgs) error {
	return d.setSched(args.Dom, args.Params, 0)
}

// DomainSetSchedulerParametersFlags checks the weight; as libvirt's test
// driver, it takes no flags.
func (d *Driver) DomainSetSchedulerParametersFlags(ctx context.Context, args *remote.DomainSetSchedulerParametersFlagsArgs) error {
	return d.setSched(args.Dom, args.Params, args.Flags)
}

func (d *Driver) setSched(dom remote.NonnullDomain, ps []remote.TypedParam, flags uint32) error {
	if flags != 0 {
		// libvirt's test driver takes no flags here, not even
		// VIR_DOMAIN_AFFECT_LIVE (virCheckFlags(0)).
		return errFlags("testDomainSetSchedulerParametersFlags", flags)
	}
	// libvirt checks every parameter before it changes anything, with
	// these errors.
	for _, p := range ps {
		if p.Field != string(libvirt.DomainSchedulerWeight) {
			return &rpc.Error{Code: int32(libvirt.ErrArgumentUnsupported), Domain: int32(libvirt.FromNone), Level: int32(libvirt.ErrError),
				Message: fmt.Sprintf("argument unsupported: parameter '%s' not supported", p.Field), Str1: "argument unsupported: %s",
				Str2: fmt.Sprintf("parameter '%s' not supported", p.Field), Int1: -1, Int2: -1}
		}
		if _, ok := p.Value.UI(); !ok {
			msg := fmt.Sprintf("invalid type '%s' for parameter '%s', expected 'uint'", typeWord(p.Value.Type()), p.Field)
			return &rpc.Error{Code: int32(libvirt.ErrInvalidArg), Domain: int32(libvirt.FromNone), Level: int32(libvirt.ErrError),
				Message: "invalid argument: " + msg, Str1: "invalid argument: %s", Str2: msg, Int1: -1, Int2: -1}
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	// libvirt's test driver looks the domain up, and keeps nothing.
	_, err := d.find(dom)
	return err
}

// typeWord is libvirt's name of a typed parameter's type, as its messages
// give it.
func typeWord(t int32) string {
	switch libvirt.TypedParameterType(t) {
	case libvirt.TypedParamInt:
		return "int"
	case libvirt.TypedParamUint:
		return "uint"
	case libvirt.TypedParamLlong:
		return "llong"
	case libvirt.TypedParamUllong:
		return "ullong"
	case libvirt.TypedParamDouble:
		return "double"
	case libvirt.TypedParamBoolean:
		return "boolean"
	case libvirt.TypedParamString:
		return "string"
	}
	return fmt.Sprint(t)
}

// errFlags is libvirt's answer (virCheckFlags) to flags a driver function
// does not take; flags are the unsupported bits only, as libvirt reports.
func errFlags(fn string, flags uint32) error {
	return &rpc.Error{Code: int32(libvirt.ErrInvalidArg), Domain: int32(libvirt.FromTest), Level: int32(libvirt.ErrError),
		Message: fmt.Sprintf("unsupported flags (0x%x) in function %s", flags, fn), Str1: fn, Str2: "flags"}
}
