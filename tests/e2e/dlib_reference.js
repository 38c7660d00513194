// Reference descriptors for the dlib-resnet parity test, from face-api.js's own
// FaceRecognitionNet: @vladmandic/face-api's face-api.node-wasm.js on TF.js's WASM backend (CPU).
// usage: node dlib_reference.js MODEL_DIR CHIP.rgb...
//   MODEL_DIR holds face_recognition_model-weights_manifest.json and its .bin; each CHIP.rgb is
//   150 x 150 x 3 raw RGB bytes. Prints one JSON line per chip: {"chip", "descriptor"} (128
//   floats, as face-api returns them: not normalised).
// Resolves packages through NODE_PATH (the test points it at the repo's .cache/node).
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');

async function main() {
  const [modelDir, ...chips] = process.argv.slice(2);
  if (!modelDir || chips.length === 0) throw new Error('usage: node dlib_reference.js MODEL_DIR CHIP.rgb...');
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  wasm.setWasmPaths(wasmDir + path.sep);
  await tf.setBackend('wasm');
  await tf.ready();
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
  for (const chip of chips) {
    const bytes = fs.readFileSync(chip);
    if (bytes.length !== 150 * 150 * 3) throw new Error(`${chip}: ${bytes.length} bytes, expected 150*150*3`);
    const input = tf.tensor3d(new Int32Array(bytes), [150, 150, 3], 'int32');
    const descriptor = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(input);
    input.dispose();
    process.stdout.write(JSON.stringify({ chip, backend: tf.getBackend(), descriptor: Array.from(descriptor) }) + '\n');
  }
}

main().catch((e) => {
  process.stderr.write(`dlib_reference.js: ${e.stack || e}\n`);
  process.exit(1);
});
