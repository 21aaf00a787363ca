// wk_nab: the `nab` command as a stand-alone tool (the service runs it as `watchkeeper nab`).
#include "anomaly/nab_cli.hpp"

int main(int argc, char** argv) { return wk::anomaly::run_nab_command(argc, argv, stdout, stderr); }
