import { cpus } from 'node:os';

/**
 * How much of the machine this process got over a span: its CPU time (user + system, all
 * threads) over wall time times the core count. onnxruntime's intra-op threads spin between
 * operators, so a forward pass that owns the machine reads close to 1; a share well below 1 means
 * other processes took cores meanwhile (the shared machine's noise), and the figure measured over
 * that span understates the hardware.
 */
export function startCpuMeter(): { stop: () => number } {
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  return {
    stop() {
      const used = process.cpuUsage(cpuStart);
      const wallMicros = (performance.now() - wallStart) * 1000;
      return (used.user + used.system) / (wallMicros * cpus().length);
    },
  };
}
