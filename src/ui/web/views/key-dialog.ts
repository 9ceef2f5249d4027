/**
 * Asks for the server's API key in a modal dialog; answers once the user submits one. The key is
 * stored by the caller in this browser only.
 */
export function keyDialog(dialog: HTMLDialogElement): (reason: string) => Promise<string> {
  const form = dialog.querySelector('form')!;
  const input = dialog.querySelector('input')!;
  const reasonText = dialog.querySelector('.key-reason')!;
  return (reason) =>
    new Promise((resolve) => {
      reasonText.textContent = reason;
      input.value = '';
      const submitted = (event: SubmitEvent) => {
        event.preventDefault();
        const key = input.value.trim();
        if (!key) return;
        form.removeEventListener('submit', submitted);
        dialog.close();
        resolve(key);
      };
      form.addEventListener('submit', submitted);
      // Escape would close the dialog without a key; nothing works without one, so it stays.
      dialog.addEventListener('cancel', (event) => event.preventDefault(), { once: true });
      dialog.showModal();
      input.focus();
    });
}
