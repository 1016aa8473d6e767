package testdriver

// Registered counts the connections the driver keeps event registrations
// for.
func Registered(d *Driver) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.regs)
}
