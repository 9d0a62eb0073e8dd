import { ExitCode, IncapCertError } from '../model/errors.js';

/**
 * The installer could not or would not do its work: a file it must not touch (a symbolic link, a file the Debian
 * package owns), an executable that is not there, a folder it cannot write. Exit code 1 (nothing was changed, or
 * each file written before the failure is whole); a bad command line (`--prefix` it refuses) is exit code 2.
 */
export class InstallError extends IncapCertError {
  constructor(message: string, exitCode: ExitCode = ExitCode.SiteFailed) {
    super(message, 'INSTALL', exitCode);
  }
}
