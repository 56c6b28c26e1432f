using System.Runtime.CompilerServices;

// Every struct crossing into native code is blittable, so the runtime needs no marshalling stubs.
[assembly: DisableRuntimeMarshalling]
