// Client-side checks with the contract's own schemas, so the form says what the node would say,
// next to the field, before anything is sent.
import { methods, type MethodName, type MethodParams } from '../../../../shared/contract.ts'

export type FieldErrors = Partial<Record<string, string>>

export function checkParams<M extends MethodName>(
  method: M,
  params: MethodParams<M>,
): FieldErrors | null {
  const parsed = methods[method].params.safeParse(params)
  if (parsed.success) return null
  const errors: FieldErrors = {}
  for (const issue of parsed.error.issues) {
    const key = String(issue.path[0] ?? '')
    errors[key] ??= issue.message.charAt(0).toUpperCase() + issue.message.slice(1) + '.'
  }
  return errors
}
