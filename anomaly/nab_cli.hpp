#pragma once

#include <cstdio>

// The `nab` command: runs the service's detector over a NAB corpus, writes NAB results files
// and, given labels, prints the normalised score per cost profile.
namespace wk::anomaly {

// argv[0] names the command (it appears in messages); then
//   --data DIR [--labels combined_windows.json] --out RESULTS_DIR [--detector NAME]
// Results go to RESULTS_DIR/<detector>/<category>/<detector>_<file>.csv. Reports go to `out`,
// errors to `err`. Returns the exit status: 0 done, 1 failed (unreadable data or labels, bad CSV,
// unwritable results), 2 usage error. Never throws.
int run_nab_command(int argc, char** argv, std::FILE* out, std::FILE* err);

}  // namespace wk::anomaly
