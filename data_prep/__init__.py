"""Dataset preparation: official-layout validators and mini corpora built from Debian recordings.

Modules (import what you need; nothing heavy is imported here):
  paths       where data lives (REPRO_DATA_DIR) and how a dataset root is resolved
  containers  readers for the game-data containers that hold some recordings
  sources     catalogue of the Debian recordings (speech / music / events)
  treatment   one signal treatment (rate, band limit, level) applied to every class
  splits      group-aware, seeded splits
  validation  ValidationReport, audio checks, column checks
  notice      NOTICE file with the recordings' authors and licences
  mixer       places events on a timeline (event-annotated minis)
  mini        shared mini-corpus builder (plan -> render in a pool -> MINI.json, NOTICE, done marker)
  class_sources  which recordings stand for which class (UrbanSound8K, TUT-SED minis)
  soundscape  scenes of a background bed plus seeded events (SONYC-UST, DESED minis)
  devices     simulated recording devices (TAU22 mini); rooms: shoebox RIRs and RT60 (FUSS mini)
  headers     WAV header checks without decoding (validators of very large datasets)
  datasets    registry: name -> dataset module
  <dataset>   the official layout: validate(root), root(...), write_mini re-exported — musan, gtzan,
              urbansound8k, tut_sed_2016, sonyc_ust, desed, tau22, fuss
  <dataset>_mini   that dataset's mini-corpus writer (plan, write_mini, its config)
"""
