/** The registry's tokens that are JWTs, and the audiences ACR takes (registry/token-check.ts). */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { tokenProblem } from "../../dagger/src/credentials/jwt-claims.js";
import { ACR_ENTRA_TOKEN, acrRefreshTokenRule } from "../../dagger/src/registry/token-check.js";
import { inMinutes, jwt } from "../support/jwt.js";

const token = (aud: unknown) => jwt({ aud, exp: inMinutes(60) });

test("an Entra token for the exchange: Azure Resource Manager (any cloud, v1 or v2) or the ACR audience", () => {
  for (const aud of [
    "https://management.core.windows.net/",
    "https://management.azure.com/",
    "https://management.azure.com",
    "https://management.usgovcloudapi.net/",
    "https://management.core.chinacloudapi.cn/",
    "797f4846-ba00-4fd7-ba43-dac1f8f63013",
    "https://containerregistry.azure.net",
    ["https://graph.microsoft.com", "https://containerregistry.azure.net/"],
  ]) {
    assert.is(tokenProblem(token(aud), ACR_ENTRA_TOKEN), undefined, JSON.stringify(aud));
  }
  for (const aud of [
    "https://storage.azure.com",
    "6dae42f8-4368-4678-94ff-3960e28e3630",
    "https://management.evil.example/",
    "https://graph.microsoft.com",
  ]) {
    assert.match(
      tokenProblem(token(aud), ACR_ENTRA_TOKEN) ?? "",
      /not Azure Container Registry .*az account get-access-token --query accessToken -o tsv$/,
      aud,
    );
  }
});

test("an ACR refresh token is for its login server (any case); the message says how to get one for this registry", () => {
  const rule = acrRefreshTokenRule("myacr.azurecr.io");
  assert.is(tokenProblem(token("myacr.azurecr.io"), rule), undefined);
  assert.is(tokenProblem(token("MyAcr.azurecr.io"), rule), undefined);
  assert.is(
    tokenProblem(token("other.azurecr.io"), rule),
    "the refresh token is for other.azurecr.io, not myacr.azurecr.io; get one with az acr login --name myacr --expose-token --query accessToken -o tsv",
  );
  assert.match(tokenProblem("an-admin-password", rule)!, /^the refresh token is not a JWT/);
  assert.match(acrRefreshTokenRule("registry.example.com:5000").getOne, /--name registry.example.com /);
});

test.run();
