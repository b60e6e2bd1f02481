"""Dataset preparation: official-layout validators and mini corpora built from Debian recordings.

Modules (import what you need; nothing heavy is imported here):
  paths       where data lives (REPRO_DATA_DIR) and how a dataset root is resolved
  containers  readers for the game-data containers that hold some recordings
  sources     catalogue of the Debian recordings (speech / music / events)
  treatment   one signal treatment (rate, band limit, level) applied to every class
  splits      group-aware, seeded splits
  validation  ValidationReport, audio checks, column checks
  notice      NOTICE file with the recordings' authors and licences
  mini        shared mini-corpus builder (plan -> render in a pool -> MINI.json, NOTICE, done marker)
  datasets    registry: name -> dataset module (musan, gtzan, urbansound8k, tut_sed_2016)
  musan, gtzan, urbansound8k, tut_sed_2016   validate(root), write_mini(dest, seed), root(...)
  <dataset>_mini   that dataset's mini-corpus writer (plan, write_mini, its config)
"""
