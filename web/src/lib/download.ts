// Offers `text` as a file download through a blob URL: the text never leaves the browser
// (no data: URL, no request).
export function downloadText(filename: string, text: string, type = 'text/plain;charset=utf-8'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started by the next task; a minute leaves slow browsers room.
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
