// What an OpenAI client call raised, for the test scripts to print: null when it succeeded.
export async function failure(fn) {
  try {
    await fn();
    return null;
  } catch (e) {
    return { name: e.constructor.name, status: e.status ?? null, code: e.code ?? null, type: e.type ?? null,
             param: e.param ?? null, message: e.message };
  }
}
