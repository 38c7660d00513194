// The subcommands of the facegate binary. Each takes the arguments after its name and
// returns the process exit code: 0 success, 1 failure (reported on stderr), 2 bad usage.
#pragma once

namespace fg::apps {

int cmd_convert(int argc, char** argv);
int cmd_embed(int argc, char** argv);
int cmd_detect(int argc, char** argv);
int cmd_enroll(int argc, char** argv);
int cmd_identify(int argc, char** argv);
int cmd_list(int argc, char** argv);
int cmd_forget(int argc, char** argv);
int cmd_calibrate(int argc, char** argv);
int cmd_attend(int argc, char** argv);
int cmd_report(int argc, char** argv);
int cmd_sync(int argc, char** argv);
int cmd_export_person(int argc, char** argv);
int cmd_prune(int argc, char** argv);

}  // namespace fg::apps
