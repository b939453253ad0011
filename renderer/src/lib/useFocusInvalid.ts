// After a submit that a form's own checks refused, the keyboard goes to the first field in error
// (aria-invalid): a screen reader then reads its error (aria-describedby), and the user can fix it
// at once instead of hunting for it from the button they pressed.
import { useEffect, useState } from 'react'

/** Returns `focusInvalid(form)`: call it when the form's errors were just set. */
export function useFocusInvalid(): (form: Element | null) => void {
  // A new object per request, so the same form refused twice is focused twice.
  const [request, setRequest] = useState<{ form: Element } | null>(null)
  useEffect(() => {
    request?.form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus()
  }, [request])
  return (form) => {
    if (form) setRequest({ form })
  }
}
