// Times ONNX Runtime (npm onnxruntime-node, CPU execution provider) on the exported ResNet-50.
// usage: node ort_bench.js MODEL.onnx IN_B8.bin REF_B8.bin BATCH THREADS SECONDS
// Prints one JSON line: {"batch", "threads", "ms_per_batch" (median), "ms_per_image", "runs",
// "max_abs_diff_vs_torch"}. Session: sequential execution, intra-op threads = THREADS,
// inter-op 1, all graph optimisations, spinning as ORT defaults.
const fs = require('fs');
const path = require('path');
const ortDir = process.env.ORT_DIR || path.join(__dirname, '..', '..', '.cache', 'ort', 'node_modules', 'onnxruntime-node');
const ort = require(ortDir);

function readF32(file) {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

async function main() {
  const [model, inFile, refFile, batchS, threadsS, secondsS] = process.argv.slice(2);
  const batch = Number(batchS), threads = Number(threadsS), seconds = Number(secondsS || 3);
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
    executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const all = readF32(inFile), ref = readF32(refFile);
  const per = 3 * 112 * 112;
  const data = new Float32Array(batch * per);
  for (let i = 0; i < batch; i++) data.set(all.subarray((i % 8) * per, (i % 8 + 1) * per), i * per);
  const feeds = { input: new ort.Tensor('float32', data, [batch, 3, 112, 112]) };
  let out = await session.run(feeds);  // warm-up
  for (let i = 0; i < 2; i++) out = await session.run(feeds);
  const emb = out.embedding.data;
  let maxDiff = 0;
  for (let i = 0; i < Math.min(batch, 8) * 512; i++) maxDiff = Math.max(maxDiff, Math.abs(emb[i] - ref[i]));
  const times = [];
  const start = process.hrtime.bigint();
  while (times.length < 5 || Number(process.hrtime.bigint() - start) / 1e9 < seconds) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const med = times[Math.floor(times.length / 2)];
  console.log(JSON.stringify({ engine: 'onnxruntime-node ' + require(path.join(ortDir, 'package.json')).version,
    batch, threads, ms_per_batch: med, ms_per_image: med / batch, runs: times.length, max_abs_diff_vs_torch: maxDiff }));
}
main().catch((e) => { console.error(e); process.exit(1); });
