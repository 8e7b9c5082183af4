// Prints the tensor engine's WebAssembly features on this runtime as one JSON line.
import { relaxedSimdSupported, simdSupported } from '@stade/tensor';

console.log(JSON.stringify({ simd: simdSupported(), relaxedFma: relaxedSimdSupported() }));
