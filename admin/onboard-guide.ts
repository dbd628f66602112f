/**
 * @module The README.txt handed to a new admin with their certificate and tunnel files. Pure.
 */

export interface GuideInput {
  name: string;
  role: string;
  /** `${publicUrl}/admin/`. */
  adminUrl: string;
  serial: string;
  /** Certificate expiry, epoch ms. */
  notAfter: number;
  /** The peer's tunnel address (no prefix). */
  address: string;
  /** Base names of the files next to the guide. */
  /** `key` only when the unencrypted PEM key was asked for (--with-pem-key). */
  files: { p12: string; conf: string; png: string; ca: string; cert: string; key?: string | undefined };
}

/** The admin pages the guide points to, below the public URL. */
export function adminPagesUrl(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/admin/`;
}

/**
 * Renders the plain-text guide. It never contains the PKCS#12 password: that is printed once by
 * `mailgate admin onboard` and travels to the admin by another channel than these files.
 * @example writeFile('README.txt', renderGuide({ name: 'alice', role: 'admin', ... }))
 */
export function renderGuide(input: GuideInput): string {
  const { files } = input;
  const expires = new Date(input.notAfter).toISOString().slice(0, 10);
  const title = `mailgate admin access for ${input.name} (role ${input.role})`;
  return `${title}
${'='.repeat(title.length)}

Reaching the admin pages needs two things at once: your client certificate
(proves who you are) and the WireGuard tunnel (your address ${input.address}).

1. Import your certificate (${files.p12})
   You need the password given to you with these files (it is not written here).
   - Firefox: Settings > Privacy & Security > Certificates > View Certificates >
     Your Certificates > Import, choose ${files.p12}.
   - Chrome, Edge, Safari: open ${files.p12} (Windows and macOS add it to the system
     key store); Chrome on Linux: Settings > Privacy and security > Security >
     Manage certificates > Your certificates > Import.
   - If the browser warns about the server certificate, also import ${files.ca}
     as a trusted authority (Firefox: Authorities > Import, trust for websites).

2. Connect the tunnel (${files.conf})
   - WireGuard app (Windows, macOS, Linux GUI): "Import tunnel(s) from file", choose ${files.conf}.
   - Phone (Android, iOS): WireGuard app > + > "Scan from QR code", scan ${files.png}.
   - Linux command line: install ${files.conf} as /etc/wireguard/mailgate.conf
     (interface names are at most 15 characters) and run: wg-quick up mailgate
   Activate the tunnel.

3. Open ${input.adminUrl}
   Choose the certificate "${input.name}" when the browser asks for one.

${pemKeyNote(files)}

Your certificate (serial ${input.serial}) expires on ${expires}. If a device is lost,
tell an operator at once: they run 'mailgate ca revoke ${input.serial}' and
'mailgate wg remove ${input.name}'.
`;
}

/** What the guide says about the private keys, with or without the unencrypted PEM key. */
function pemKeyNote(files: GuideInput['files']): string {
  if (files.key)
    return `Keep these files private: ${files.key}, ${files.p12} and ${files.conf} hold your
private keys; ${files.key} is not encrypted. Delete ${files.p12} once it is imported. ${files.cert}
and ${files.key} are the same certificate as PEM files, for command-line tools (curl --cert/--key).`;
  return `Keep these files private: ${files.p12} and ${files.conf} hold your private keys. Delete
${files.p12} once it is imported. Command-line tools that want a PEM key: run
'openssl pkcs12 -in ${files.p12} -nocerts -out key.pem' (it asks for the password and a new one).`;
}
