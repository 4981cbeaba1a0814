import { argument, check, Container, Directory, File, func, object, Secret, Service } from "@dagger.io/dagger";
import { up } from "./shared/runtime-compat.js";
import { RegistrySettings, registrySettings, RegistryTarget, registryTarget } from "./registry/settings.js";
import { ClusterSettings, ClusterTarget, clusterTarget, kubectlOptions } from "./kubernetes/settings.js";
import { BuildOptions, buildImage } from "./app-image/image.js";
import { resolveTagDigest } from "./registry/push.js";
import { publishFromSources, UNSET_REVISION } from "./pipeline/publish.js";
import {
  fetchModelDirectory,
  listModelVersions,
  markYanked,
  moveAlias,
  publishModelDirectory,
  removeModelAlias,
  StoreTarget,
  storeTarget,
} from "./model-store/step.js";
import { ModelStoreSettings, restoreStoreSettings } from "./model-store/settings.js";
import { ModelVersions } from "./model-store/model-versions.js";
import { signModelDirectory, withVerifiedSignature } from "./model-store/signing.js";
import { DEFAULT_MODEL_NAME } from "./model-store/layout.js";
import { runCi } from "./pipeline/ci.js";
import { runRelease } from "./pipeline/release.js";
import { releaseOptions } from "./pipeline/release-report.js";
import {
  ControlInputs,
  ReleaseHistory,
  readReleaseHistory,
  runAbortRelease,
  runPromoteRelease,
  runRollbackRelease,
} from "./pipeline/release-control.js";
import { checkDnsLabel, checkRegion } from "./kubernetes/dns-label.js";
import { CiResult, ciResult } from "./pipeline/ci-result.js";
import { PublishResult, publishResult } from "./pipeline/publish-result.js";
import { markServingModel, servingAlias } from "./pipeline/serving-alias.js";
import { ReleaseResult, releaseResult } from "./pipeline/release-result.js";
import { DeploymentStatus, readDeploymentStatus } from "./kubernetes/deployment-status.js";
import { appTestContainer, runAppTests } from "./app-image/test.js";
import { SAMPLE_MODEL_VERSION, trainedSampleModel } from "./app-image/train.js";
import { deployImage, diffImage, registryImageMetadata, renderForImage } from "./kubernetes/deploy.js";
import { checkTokens, TOKEN_USES, TokenUse } from "./pipeline/token-check.js";
import {
  ImagePolicySettings,
  imagePolicySettings,
  ImageSigningSettings,
  imageSigningSettings,
  policyTarget,
  signingTarget,
} from "./supply-chain/settings.js";
import { imageVerifier, signatureLine, supplyChainOptions } from "./supply-chain/step.js";
import { ImageVerifier } from "./release/release-steps.js";

/** Paths never sent to the engine with the source directory: the same list as dagger.json's include exclusions (a test holds them together), plus .git. */
const SOURCE_IGNORE = [
  "**/node_modules",
  ".venv",
  "**/__pycache__",
  "**/.pytest_cache",
  "model/out",
  "**/*.onnx",
  "dagger/sdk",
  ".tmp",
  "bench-out",
  ".tools",
  "**/*.egg-info",
  ".git",
];

/**
 * The CI/CD pipeline of the AI web app: test the Flask service, take a verified model from the
 * Blob model store, build one image holding both, publish it to ACR by digest, and deploy it to
 * AKS with kubectl, rolling back on failure. Every function works the same on a laptop and in any
 * CI; `ci` with no Azure arguments runs it all locally (Azurite, a registry and k3s in Dagger).
 */
@object()
export class AiAppPipeline {
  source: Directory;
  revision: string;
  created: string;
  sourceUrl: string;
  store?: ModelStoreSettings;
  registry?: RegistrySettings;
  cluster?: ClusterSettings;
  signing?: ImageSigningSettings;
  policy?: ImagePolicySettings;

  /**
   * @param source The repository: the app, the model code and the Kubernetes manifests (defaults to this repository).
   * @param revision The git revision being built, recorded in image labels and the model manifest (e.g. $(git rev-parse HEAD)).
   * @param created Commit time of the revision for the image's created label, RFC 3339 (e.g. $(git log -1 --format=%cI)); omitted when empty.
   * @param sourceUrl Repository URL for the image's source label (e.g. https://dev.azure.com/org/project/_git/repo); omitted when empty.
   */
  constructor(
    @argument({ defaultPath: "/", ignore: SOURCE_IGNORE }) source: Directory,
    revision = UNSET_REVISION,
    created = "",
    sourceUrl = "",
  ) {
    this.source = source;
    this.revision = revision;
    this.created = created;
    this.sourceUrl = sourceUrl;
  }

  /**
   * Run the app's pytest suite in a container; returns pytest's summary and fails with its output when a test fails.
   */
  @func()
  @check()
  async test(): Promise<string> {
    return runAppTests(this.source);
  }

  /**
   * The container the test suite runs in, dependencies installed and the app copied, for debugging (dagger call test-container terminal).
   */
  @func()
  testContainer(): Container {
    return appTestContainer(this.source);
  }

  /**
   * Train the sample digits model (model/train.py) in a container; returns the model directory with its model.json.
   *
   * @param modelName Model name written to model.json.
   * @param modelVersion Semantic version written to model.json.
   */
  @func()
  trainSampleModel(modelName = DEFAULT_MODEL_NAME, modelVersion = SAMPLE_MODEL_VERSION): Directory {
    return trainedSampleModel(this.source, { name: modelName, version: modelVersion, revision: this.revision });
  }

  /**
   * Build the runtime image: the app plus a verified model at /models, non-root, labelled with revision and model.
   *
   * @param model Model directory holding model.json and the files it lists (defaults to a freshly trained sample model).
   */
  @func()
  async build(model?: Directory): Promise<Container> {
    return buildImage(this.source, model ?? this.trainSampleModel(), this.buildOptions());
  }

  /**
   * Run the image the pipeline would ship as a service on port 8000 (dagger call serve up --ports 8000:8000).
   *
   * @param model Model directory holding model.json and the files it lists (defaults to a freshly trained sample model).
   */
  @func()
  @up()
  async serve(model?: Directory): Promise<Service> {
    return (await this.build(model)).asService({ useEntrypoint: true });
  }

  /**
   * Configure the model store (Azure Blob Storage, or an Azurite service) for the functions that follow: publish-model, fetch-model, model-versions, set-alias, remove-alias, yank, unyank, publish, ci; and --mark-alias of release, promote, rollback.
   *
   * @param container Blob container holding the models (<container>/<model-name>/<version>/).
   * @param account Storage account name (endpoint https://<account>.blob.core.windows.net).
   * @param accountUrl Blob endpoint instead of --account, e.g. https://myaccount.blob.core.windows.net.
   * @param connectionString Storage connection string, as a secret (e.g. env://AZURE_STORAGE_CONNECTION_STRING).
   * @param sasToken SAS token (sv=...&sig=...) with --account or --account-url, as a secret.
   * @param accountKey Storage account key with --account, as a secret.
   * @param tenantId Entra ID tenant (with --client-secret, --federated-token or --system-access-token).
   * @param clientId Entra ID application (client) id; for --managed-identity, selects a user-assigned identity.
   * @param clientSecret Entra ID client secret of --client-id, as a secret.
   * @param federatedToken Federated (workload identity) token for --client-id, e.g. env://idToken from AzureCLI@2 addSpnToEnvironment or a GitHub OIDC token.
   * @param serviceConnectionId Azure Pipelines service connection id (with --system-access-token).
   * @param systemAccessToken Azure Pipelines System.AccessToken (with --service-connection-id), as a secret.
   * @param oidcRequestUri Azure Pipelines OIDC endpoint, $(System.OidcRequestUri) (with --system-access-token).
   * @param managedIdentity Sign in with the managed identity of the machine running the engine.
   * @param entraToken Your own Entra ID access token for storage (e.g. env://STORAGE_TOKEN from az account get-access-token --resource https://storage.azure.com/), as a secret.
   * @param storeService An Azurite service to use instead of Azure (e.g. tcp://localhost:10000); its development account is used.
   */
  @func({ cache: "session" }) // holds session-bound Secret/Service ids: docs/engine-notes.md section 13
  withStore(
    container = "models",
    account?: string,
    accountUrl?: string,
    connectionString?: Secret,
    sasToken?: Secret,
    accountKey?: Secret,
    tenantId?: string,
    clientId?: string,
    clientSecret?: Secret,
    federatedToken?: Secret,
    serviceConnectionId?: string,
    systemAccessToken?: Secret,
    oidcRequestUri?: string,
    managedIdentity = false,
    storeService?: Service,
    entraToken?: Secret,
  ): AiAppPipeline {
    const settings = Object.assign(new ModelStoreSettings(), {
      container,
      account,
      accountUrl,
      connectionString,
      sasToken,
      accountKey,
      tenantId,
      clientId,
      clientSecret,
      federatedToken,
      serviceConnectionId,
      systemAccessToken,
      oidcRequestUri,
      managedIdentity,
      entraToken,
      storeService,
    });
    storeTarget(settings); // check the auth arguments now, where the user typed them
    this.store = settings;
    return this;
  }

  /**
   * Configure the model store as an Amazon S3 bucket (or an S3-compatible store's), with the same contract as on Blob Storage, for the functions that follow: publish-model, fetch-model, model-versions, set-alias, remove-alias, yank, unyank, publish, ci; and --mark-alias of release, promote, rollback.
   *
   * @param bucket S3 bucket holding the models (<model-name>/<version>/ in it).
   * @param region The bucket's region, e.g. eu-west-1 (required).
   * @param endpoint An S3-compatible store's endpoint, e.g. https://minio.example.com:9000 (path-style addressing); Amazon S3's own when omitted.
   * @param pathStyle Path-style addressing (endpoint/bucket/key) with Amazon S3's endpoint too.
   * @param accessKeyId Access key id, as a secret (e.g. env://AWS_ACCESS_KEY_ID), with --secret-access-key.
   * @param secretAccessKey Secret access key, as a secret (e.g. env://AWS_SECRET_ACCESS_KEY).
   * @param sessionToken Session token of temporary keys (aws configure export-credentials, SSO), as a secret.
   * @param roleArn IAM role to assume with --web-identity-token (AssumeRoleWithWebIdentity), e.g. arn:aws:iam::123456789012:role/model-store-ci.
   * @param webIdentityToken The CI system's OIDC token for --role-arn (GitHub Actions' ID token, Azure DevOps' idToken), as a secret.
   * @param roleSessionName Session name of the assumed role, shown in CloudTrail (default ai-app-pipeline-model-store).
   * @param defaultChain Sign in with whatever the AWS SDK's default chain finds inside the step's container (an instance or task role where the engine runs on AWS).
   */
  @func({ cache: "session" }) // holds session-bound Secret ids: docs/engine-notes.md section 13
  withAwsStore(
    bucket: string,
    region: string,
    endpoint?: string,
    pathStyle = false,
    accessKeyId?: Secret,
    secretAccessKey?: Secret,
    sessionToken?: Secret,
    roleArn?: string,
    webIdentityToken?: Secret,
    roleSessionName?: string,
    defaultChain = false,
  ): AiAppPipeline {
    const settings = Object.assign(new ModelStoreSettings(), {
      s3Bucket: bucket,
      s3Region: region,
      s3Endpoint: endpoint,
      s3PathStyle: pathStyle,
      awsAccessKeyId: accessKeyId,
      awsSecretAccessKey: secretAccessKey,
      awsSessionToken: sessionToken,
      s3RoleArn: roleArn,
      s3WebIdentityToken: webIdentityToken,
      s3RoleSessionName: roleSessionName,
      s3DefaultChain: defaultChain,
    });
    storeTarget(settings); // checked now, where the user typed them
    this.store = settings;
    return this;
  }

  /**
   * Publish a model directory to the Blob model store as a new, immutable version (files first, model.json last).
   *
   * @param model Model directory holding model.json and every file it lists (e.g. ./model/out from model/train.py).
   * @param modelVersion Version to publish; must equal the version in model.json (a guard against publishing the wrong build).
   * @param signingKey Sign the directory first (OpenSSF model-signing, model.sig uploaded before model.json) with this elliptic-curve private key in PEM, as a secret (e.g. file://./model-signing.key or env://MODEL_SIGNING_KEY).
   */
  @func({ cache: "never" })
  async publishModel(model: Directory, modelVersion?: string, signingKey?: Secret): Promise<string> {
    const target = this.storeTarget(); // the store's arguments are checked before anything is signed
    const signed = signingKey ? await signModelDirectory(this.source, model, signingKey) : model;
    return publishModelDirectory(target, signed, modelVersion);
  }

  /**
   * Fetch a model version from the Blob model store, every file verified against model.json; returns the model directory.
   *
   * @param modelName Model name (the folder under the container).
   * @param modelVersion "latest" (highest complete, not-yanked release), an exact semantic version, or an alias such as "@champion"; resolved on every call.
   * @param prerelease Let "latest" pick prereleases (e.g. 1.4.0-rc.1) too.
   * @param publicKey The signer's public key (PEM, e.g. ./model-signing.pub): the signature becomes mandatory, and an unsigned version, another signer or a changed file is refused.
   */
  @func({ cache: "never" })
  async fetchModel(modelName = DEFAULT_MODEL_NAME, modelVersion = "latest", prerelease = false, publicKey?: File): Promise<Directory> {
    const fetched = await fetchModelDirectory(this.storeTarget(), modelName, modelVersion, prerelease);
    return (await withVerifiedSignature(this.source, fetched, publicKey, `${modelName} ${modelVersion}`)).directory;
  }

  /**
   * List the versions of a model in the model store with their state (complete, incomplete or invalid), their aliases, which are yanked, which one is latest and the metrics model.json records; read it with model-versions summary, latest or json.
   *
   * @param modelName Model name (the folder under the container).
   */
  @func({ cache: "never" })
  async modelVersions(modelName = DEFAULT_MODEL_NAME): Promise<ModelVersions> {
    return listModelVersions(this.storeTarget(), modelName);
  }

  /**
   * Point an alias (champion, production, ...) of a model at one complete, not-yanked version; each move is kept in the alias's history, and a concurrent move makes this one fail, changing nothing.
   *
   * @param alias Alias name, lowercase letters, digits and dashes (e.g. champion); select it with --model-version "@champion".
   * @param modelVersion Exact version the alias points at from now on (e.g. 1.3.0).
   * @param modelName Model name (the folder under the container).
   * @param by Who moves it, kept in the history (default: the constructor's --revision).
   */
  @func({ cache: "never" })
  async setAlias(alias: string, modelVersion: string, modelName = DEFAULT_MODEL_NAME, by = ""): Promise<string> {
    return moveAlias(this.storeTarget(), modelName, alias, modelVersion, this.changedBy(by));
  }

  /**
   * Remove an alias of a model (its history stays in the store).
   *
   * @param alias Alias name (e.g. champion).
   * @param modelName Model name (the folder under the container).
   * @param by Who removes it, kept in the history (default: the constructor's --revision).
   */
  @func({ cache: "never" })
  async removeAlias(alias: string, modelName = DEFAULT_MODEL_NAME, by = ""): Promise<string> {
    return removeModelAlias(this.storeTarget(), modelName, alias, this.changedBy(by));
  }

  /**
   * Withdraw a model version with a reason: "latest" skips it, an alias pointing at it refuses it until moved, an exact pin still fetches it with a warning; nothing is deleted.
   *
   * @param modelVersion Exact version to withdraw (e.g. 1.3.0).
   * @param reason Why, shown to everyone who still fetches it (e.g. "accuracy regression on night images").
   * @param modelName Model name (the folder under the container).
   * @param by Who yanks it, kept in the history (default: the constructor's --revision).
   */
  @func({ cache: "never" })
  async yank(modelVersion: string, reason: string, modelName = DEFAULT_MODEL_NAME, by = ""): Promise<string> {
    return markYanked(this.storeTarget(), modelName, modelVersion, this.changedBy(by), reason);
  }

  /**
   * Put a yanked model version back in use ("latest" may pick it again).
   *
   * @param modelVersion Exact version to restore (e.g. 1.3.0).
   * @param modelName Model name (the folder under the container).
   * @param by Who restores it, kept in the history (default: the constructor's --revision).
   */
  @func({ cache: "never" })
  async unyank(modelVersion: string, modelName = DEFAULT_MODEL_NAME, by = ""): Promise<string> {
    return markYanked(this.storeTarget(), modelName, modelVersion, this.changedBy(by));
  }

  /**
   * Configure the container registry (Azure Container Registry, or any OCI registry) for the functions that follow: publish, image-digest, ci, release, rollback.
   *
   * @param address Registry host[:port], e.g. myacr.azurecr.io.
   * @param repository Repository in the registry.
   * @param username Registry user: the ACR admin user or a service principal's application id (with --password).
   * @param password Password or service principal client secret for --username, as a secret (e.g. env://ACR_PASSWORD).
   * @param entraToken Microsoft Entra ID access token (e.g. env://ACR_TOKEN from az account get-access-token), exchanged for an ACR refresh token.
   * @param tenantId Entra tenant id for --entra-token (defaults to the token's own tenant).
   */
  @func({ cache: "session" }) // holds session-bound Secret/Service ids: docs/engine-notes.md section 13
  withRegistry(
    address: string,
    repository = "ai-app",
    username?: string,
    password?: Secret,
    entraToken?: Secret,
    tenantId?: string,
  ): AiAppPipeline {
    this.registry = registrySettings({ address, repository, username, password, entraToken, tenantId });
    return this;
  }

  /**
   * Configure the Kubernetes cluster (AKS, or any cluster kubectl reaches) for the functions that follow: diff, deploy, release, status, promote, abort, releases, rollback.
   *
   * @param kubeconfig Kubeconfig of the cluster as a secret, e.g. file://./kubeconfig written by az aks get-credentials --file ./kubeconfig.
   * @param namespace Namespace the app is deployed in (must exist; docs/azure-setup.md creates ai-app).
   * @param context Kubeconfig context to use (default: the kubeconfig's current context).
   * @param entraToken Entra ID access token for AKS (az account get-access-token --resource 6dae42f8-4368-4678-94ff-3960e28e3630), used instead of the kubeconfig's user.
   */
  @func({ cache: "session" }) // holds session-bound Secret/Service ids: docs/engine-notes.md section 13
  withCluster(kubeconfig: Secret, namespace = "ai-app", context?: string, entraToken?: Secret): AiAppPipeline {
    this.cluster = Object.assign(new ClusterSettings(), { kubeconfig, namespace, context, entraToken });
    return this;
  }

  /**
   * Sign what the functions that follow push, by digest, with a cosign key pair: publish and ci sign the image and attach a signed SLSA provenance and a signed CycloneDX SBOM (cosign's OCI layout in the registry) before the channel tag moves. Needs the constructor's --source-url and --revision.
   *
   * @param signingKey The cosign private key (cosign generate-key-pair's cosign.key) as a secret, e.g. env://COSIGN_KEY or file://./cosign.key.
   * @param signingPassword The private key's password as a secret (e.g. env://COSIGN_PASSWORD); omit for a key without one.
   * @param builderId Who builds, for the provenance: a URI naming the CI pipeline (e.g. the Azure DevOps pipeline's URL); default urn:ai-app-pipeline:builder:dagger-call.
   */
  @func({ cache: "session" }) // holds session-bound Secret ids: docs/engine-notes.md section 13
  withImageSigning(signingKey: Secret, signingPassword?: Secret, builderId = ""): AiAppPipeline {
    this.signing = imageSigningSettings(signingKey, signingPassword, builderId);
    return this;
  }

  /**
   * Require a signature and provenance of every image the functions that follow deploy: release, promote, rollback and deploy verify the exact digest they apply (cosign signature by the key, SLSA provenance naming the repository) and refuse otherwise; status and verify-image report it.
   *
   * @param publicKey The cosign public key images must be signed with (cosign.pub, PEM), e.g. ./cosign.pub.
   * @param sourceRepository The repository images must be built from, as their provenance names it (the constructor's --source-url at build time), e.g. https://github.com/org/ai-app.
   */
  @func({ cache: "session" }) // like every builder: the settings live for this session's calls
  withImagePolicy(publicKey: File, sourceRepository: string): AiAppPipeline {
    this.policy = imagePolicySettings(publicKey, sourceRepository);
    return this;
  }

  /**
   * Verify one image by digest against with-image-policy: its cosign signature by the policy's key and its signed SLSA provenance naming the policy's repository; returns who signed it and where it was built from, or fails with one line saying why not. Never cached.
   *
   * @param image Image as a digest reference, registry/repository@sha256:<digest> (what publish ... image prints); read with with-registry's sign-in when it is in that registry.
   */
  @func({ cache: "never" })
  async verifyImage(image: string): Promise<string> {
    const verify = this.verifier();
    if (!verify) {
      throw new Error(
        "no image policy configured: start the call with with-image-policy, e.g. dagger call with-image-policy --public-key ./cosign.pub --source-repository https://github.com/org/ai-app verify-image --image ...",
      );
    }
    return verify(image);
  }

  /**
   * Test, build and push the image to with-registry's registry under its revision, model-version and channel tags; returns what was pushed (publish ... image prints the digest reference, json every field).
   *
   * @param channel Branch whose moving tag this push updates: main, or refs/heads/feature/x which becomes feature-x.
   * @param model Model directory holding model.json and the files it lists (default: the latest release in with-store's store; one of the two is required).
   * @param publicKey The model signer's public key (PEM, e.g. ./model-signing.pub): the model's signature is verified before the build, and the image labelled with its signer.
   * @param force Move the channel tag even when the image it points at was built from a newer commit (by the images' created labels, the commit time --created); without it that is refused.
   */
  @func({ cache: "never" })
  async publish(channel: string, model?: Directory, publicKey?: File, force = false): Promise<PublishResult> {
    const registry = this.registryTarget();
    const supplyChain = supplyChainOptions({ signing: this.signingTargetIfAny(), sourceUrl: this.sourceUrl });
    await this.checkTokens(TOKEN_USES.publish(!model && this.store !== undefined));
    const published = await publishFromSources({
      source: this.source,
      build: this.buildOptions(),
      registry,
      channel,
      publicKey,
      force,
      supplyChain,
      ...(model ? { model } : {}),
      ...(this.store ? { store: this.storeTarget() } : {}),
    });
    return publishResult(published, channel, this.revision);
  }

  /**
   * Resolve a channel (or any tag) of with-registry's repository to its digest reference (registry/repository@sha256:...) through the registry API; never cached.
   *
   * @param channel The moving tag ci and publish update (main, feature-x); a revision or model-<version> tag resolves too.
   */
  @func({ cache: "never" })
  async imageDigest(channel = "main"): Promise<string> {
    const { registry, repository, auth } = this.registryTarget();
    await this.checkTokens(TOKEN_USES.imageDigest());
    return resolveTagDigest({ registry, repository, tag: channel }, auth);
  }

  /**
   * Render k8s/ for an image: image by digest, namespace, revision and model annotations; validated, for review or GitOps.
   *
   * @param image Image as a digest reference, registry/repository@sha256:<digest> (what publish ... image prints); its model labels are read from the registry.
   * @param namespace Namespace set on every object.
   * @param replicas Replica count of the Deployment (default: the 2 in k8s/deployment.yaml).
   */
  @func()
  async manifests(image: string, namespace = "ai-app", replicas?: number): Promise<Directory> {
    const metadata = () => registryImageMetadata(image);
    return (await renderForImage(this.source.directory("k8s"), image, { namespace, replicas, metadata })).directory;
  }

  /**
   * Show what deploying an image to with-cluster's cluster would change (kubectl diff, server-side); returns the diff or says there is none.
   *
   * @param image Image as a digest reference, registry/repository@sha256:<digest> (what publish ... image prints).
   * @param replicas Replica count of the Deployment (default: the 2 in k8s/deployment.yaml).
   */
  @func({ cache: "never" })
  async diff(image: string, replicas?: number): Promise<string> {
    const c = this.clusterTarget();
    await this.checkTokens(TOKEN_USES.diff());
    const metadata = () => registryImageMetadata(image);
    const opts = { ...kubectlOptions(c), replicas, metadata, keepDnsLabel: true }; // as deploy renders it
    return diffImage(c.access.kubeconfig, image, this.source.directory("k8s"), opts);
  }

  /**
   * Deploy one image by digest straight to with-cluster's cluster, for a first install or debugging: validate, server-side apply, wait for the rollout, roll back and fail if it does not complete. Not a release: no release ledger entry, no smoke test, no canary; for those use release (rollback goes back).
   *
   * @param image Image as a digest reference, registry/repository@sha256:<digest> (what publish ... image prints).
   * @param timeout How long the rollout may take before it is rolled back, as a duration (90s, 5m, 1h).
   * @param replicas Replica count of the Deployment (default: the 2 in k8s/deployment.yaml).
   * @param forceConflicts Take over fields that another field manager (kubectl edit, kubectl scale) changed, instead of failing.
   * @param dnsLabel Azure DNS label for the LoadBalancer Service (AKS names its public IP <label>.<region>.cloudapp.azure.com); without it the Service keeps the label it has.
   */
  @func({ cache: "never" })
  async deploy(image: string, timeout = "5m", replicas?: number, forceConflicts = false, dnsLabel?: string): Promise<string> {
    const label = dnsLabel ? { dnsLabel: checkDnsLabel(dnsLabel) } : {};
    const c = this.clusterTarget();
    await this.checkTokens(TOKEN_USES.deploy(timeout));
    const metadata = () => registryImageMetadata(image);
    const opts = { ...kubectlOptions(c), timeout, replicas, forceConflicts, metadata, ...label, keepDnsLabel: true };
    const verify = this.verifier();
    const signature = verify ? `\nsignature: ${await verify(image)}` : "";
    return (await deployImage(c.access.kubeconfig, image, this.source.directory("k8s"), opts)).summary + signature;
  }

  /**
   * The per-commit job: test -> model (with-store's, or --model) -> build -> publish (with-registry's, if configured); with nothing configured, the whole pipeline locally (Azurite, registry, k3s). Read the result with ci summary, ci image or ci json.
   *
   * @param channel Branch whose moving tag this run updates: main, or refs/heads/feature/x which becomes feature-x (required with with-registry; the embedded default uses main).
   * @param model Model directory to build with instead of the store's (model.json plus its files).
   * @param modelName Model name in the store.
   * @param modelVersion Model version to build with: "latest" (highest complete, not-yanked release), an exact semantic version, or an alias such as "@champion".
   * @param prerelease Let "latest" pick prereleases (e.g. 1.4.0-rc.1) too.
   * @param publicKey The model signer's public key (PEM, e.g. ./model-signing.pub): the model's signature is verified before anything is built, and the image labelled with its signer.
   * @param force Move the channel tag even when the image it points at was built from a newer commit (by the images' created labels, the commit time --created); without it that is refused.
   * @param failOnSeverity Vulnerability gate: scan the built image with Trivy before anything is pushed and fail on a vulnerability of this severity or above (low, medium, high, critical); off when not given.
   * @param vulnerabilityDb The gate's database as a directory laid out like Trivy's cache (db/trivy.db, db/metadata.json), e.g. an offline mirror; default: Trivy downloads its own.
   */
  @func({ cache: "never" })
  async ci(
    channel?: string,
    model?: Directory,
    modelName = DEFAULT_MODEL_NAME,
    modelVersion = "latest",
    prerelease = false,
    publicKey?: File,
    force = false,
    failOnSeverity?: string,
    vulnerabilityDb?: Directory,
  ): Promise<CiResult> {
    const supplyChain = supplyChainOptions({
      signing: this.signingTargetIfAny(),
      sourceUrl: this.sourceUrl,
      failOnSeverity,
      vulnerabilityDb,
    });
    await this.checkTokens(TOKEN_USES.ci(!model));
    const report = await runCi({
      source: this.source,
      build: this.buildOptions(),
      modelName,
      modelVersion,
      prerelease,
      ...(force ? { force } : {}),
      ...(channel ? { channel } : {}),
      ...(publicKey ? { publicKey } : {}),
      ...(model ? { model } : {}),
      ...(supplyChain ? { supplyChain } : {}),
      ...(this.store ? { store: this.storeTarget() } : {}),
      ...(this.registry ? { registry: this.registryTarget() } : {}),
    });
    return ciResult(report);
  }

  /**
   * The nightly job: resolve with-registry's channel tag to its digest and deploy it to with-cluster's cluster with kubectl, rolling (smoke test, roll back on failure) or as a canary (analysis, then promote or abort); recorded in the release ledger; returns what was released.
   *
   * @param channel The moving tag to release (main): ci and publish move it on every commit.
   * @param timeout How long the rollout may take before it is rolled back, as a duration (90s, 5m, 1h); for a canary, also how long it may take to become ready.
   * @param dryRun Change nothing: resolve the channel, render and validate the manifests, and show the server-side diff (kubectl diff) a release would apply.
   * @param strategy rolling (the whole Deployment, smoke-tested, rolled back on failure) or canary (a second Deployment <app>-canary beside the stable, judged, then promoted or removed).
   * @param canaryPercent Canary: the share of traffic to aim for, 1-99; canary replicas = round(stable replicas × p / (100 − p)), at least 1, so the actual share (reported) is canary / (stable + canary), e.g. 2 stable at 10% gives 1 canary, 33%.
   * @param analysisWindow Canary: how long to judge it, as a duration; window / interval rounds of checks (each: canary pods' readiness and restarts, a smoke test via the Service, one of a canary pod).
   * @param analysisInterval Canary: the pause between rounds of checks, as a duration.
   * @param maxFailures Canary: failed checks tolerated over the whole analysis before it is aborted.
   * @param maxRestarts Canary: restarts of the canary's containers tolerated before it is aborted.
   * @param pause Canary: stop after a passing analysis and leave the canary serving; finish later with promote or abort (e.g. after an approval).
   * @param dnsLabel Azure DNS label for the LoadBalancer Service (AKS names its public IP <label>.<region>.cloudapp.azure.com); without it the Service keeps the label it has.
   * @param region Azure region of the cluster (e.g. westeurope), to report the DNS label's URL; without it the load balancer's address is reported.
   * @param markAlias Move this model-store alias (e.g. production) to the model inside the image once it serves, so the store says which model serves (needs with-store).
   * @param removeDnsLabel Remove the Service's DNS label (its public name goes away); a release without --dns-label otherwise keeps it.
   */
  @func({ cache: "never" })
  async release(
    channel = "main",
    timeout = "5m",
    dryRun = false,
    strategy = "rolling",
    canaryPercent = 10,
    analysisWindow = "2m",
    analysisInterval = "30s",
    maxFailures = 0,
    maxRestarts = 0,
    pause = false,
    dnsLabel?: string,
    region?: string,
    markAlias?: string,
    removeDnsLabel = false,
  ): Promise<ReleaseResult> {
    const mark = servingAlias(markAlias, this.storeTargetIfAny());
    const options = releaseOptions({
      strategy,
      canaryPercent,
      analysisWindow,
      analysisInterval,
      maxFailures,
      maxRestarts,
      pause,
      dnsLabel,
      removeDnsLabel,
      region,
    });
    const c = this.clusterTarget();
    await this.checkTokens(TOKEN_USES.release(timeout, options, Boolean(markAlias), dryRun));
    const verify = this.verifier();
    const report = await runRelease({
      ...this.registryTarget(),
      ...(verify ? { verify } : {}),
      channel,
      timeout,
      dryRun,
      options,
      manifests: this.source.directory("k8s"),
      access: c.access,
      namespace: c.namespace,
      ...(c.context ? { context: c.context } : {}),
    });
    return releaseResult(await markServingModel(report, mark, pause));
  }

  /**
   * Finish a paused canary (release --strategy canary --pause): roll the stable Deployment to the canary's image, wait for it (undone on failure), remove the canary; recorded in the release ledger. Only the release that was approved: any other canary is refused.
   *
   * @param releaseId The release the canary stage reported (its release-id field), or the canary image's digest; a canary of any other release, or one the ledger does not hold as paused, is refused and nothing changes.
   * @param timeout How long the stable's rollout may take before it is rolled back, as a duration.
   * @param region Azure region of the cluster (e.g. westeurope), to report the Service's DNS label as a URL.
   * @param markAlias Move this model-store alias (e.g. production) to the model inside the image once it serves, so the store says which model serves (needs with-store).
   * @param dnsLabel Azure DNS label for the LoadBalancer Service (AKS names its public IP <label>.<region>.cloudapp.azure.com); without it the Service keeps the label it has.
   */
  @func({ cache: "never" })
  async promote(releaseId: string, timeout = "5m", region?: string, markAlias?: string, dnsLabel?: string): Promise<ReleaseResult> {
    const inputs = this.controlInputs(region, dnsLabel);
    const mark = servingAlias(markAlias, this.storeTargetIfAny());
    await this.checkTokens(TOKEN_USES.promote(timeout, Boolean(markAlias)));
    return releaseResult(await markServingModel(await runPromoteRelease({ ...inputs, timeout, releaseId }), mark));
  }

  /**
   * Remove the canary (a paused one, or one left by an interrupted run); the stable Deployment is not touched; recorded in the release ledger.
   *
   * @param releaseId Only remove the canary of this release (the release-id the canary stage reported, or the image's digest); a canary of another release is left and the call fails. Without it, whatever canary this app has is removed.
   */
  @func({ cache: "never" })
  async abort(releaseId?: string): Promise<ReleaseResult> {
    await this.checkTokens(TOKEN_USES.abort());
    return releaseResult(await runAbortRelease({ ...this.controlInputs(), ...(releaseId ? { releaseId } : {}) }));
  }

  /**
   * The release ledger kept in the cluster (ConfigMap <app>-releases): each attempt's time, outcome, strategy, image digest, model and revision, newest first.
   */
  @func({ cache: "never" })
  async releases(): Promise<ReleaseHistory> {
    await this.checkTokens(TOKEN_USES.releases());
    return readReleaseHistory(this.controlInputs());
  }

  /**
   * Go back to the last good release in the ledger (or --image) in one step: only an image of with-registry's registry and repository whose labels match its ledger entry; deploy it, smoke-test it and wait (undone on failure), no analysis; recorded in the ledger as a rollback.
   *
   * @param image A release from the ledger to go back to, registry/repository@sha256:<digest> or just sha256:<digest> (default: the newest good one not running now).
   * @param timeout How long the rollout may take before it is undone, as a duration.
   * @param region Azure region of the cluster (e.g. westeurope), to report the Service's DNS label as a URL.
   * @param markAlias Move this model-store alias (e.g. production) to the model inside the image once it serves, so the store says which model serves (needs with-store).
   * @param dnsLabel Azure DNS label for the LoadBalancer Service (AKS names its public IP <label>.<region>.cloudapp.azure.com); without it the Service keeps the label it has.
   */
  @func({ cache: "never" })
  async rollback(image?: string, timeout = "5m", region?: string, markAlias?: string, dnsLabel?: string): Promise<ReleaseResult> {
    const inputs = this.controlInputs(region, dnsLabel);
    const mark = servingAlias(markAlias, this.storeTargetIfAny());
    await this.checkTokens(TOKEN_USES.rollback(timeout, Boolean(markAlias)));
    const registry = this.registryTarget();
    const report = await runRollbackRelease({
      ...inputs,
      registry,
      timeout,
      ...(image ? { image } : {}),
    });
    return releaseResult(await markServingModel(report, mark));
  }

  /**
   * What runs on with-cluster's cluster now: the image digest, model name/version/sha256, git revision, replicas, rollout state and public address; never cached.
   *
   * @param region Azure region of the cluster (e.g. westeurope): with the Service's DNS label, the URL is http://<label>.<region>.cloudapp.azure.com.
   */
  @func({ cache: "never" })
  async status(region?: string): Promise<DeploymentStatus> {
    const c = this.clusterTarget();
    const where = region ? { region: checkRegion(region) } : {};
    await this.checkTokens(TOKEN_USES.status());
    const checkSignature = signatureLine(this.verifier());
    return readDeploymentStatus(c.access.kubeconfig, this.source.directory("k8s"), { ...kubectlOptions(c), ...where, checkSignature });
  }

  /** Refuses, before anything runs, a configured token that would not last what `use` does (pipeline/token-check.ts). */
  private async checkTokens(use: TokenUse): Promise<void> {
    await checkTokens(use, {
      store: use.store && this.store ? this.storeTarget() : undefined,
      registry: use.registry && this.registry ? this.registryTarget() : undefined,
      cluster: use.cluster && this.cluster ? this.clusterTarget() : undefined,
    });
  }

  private controlInputs(region?: string, dnsLabel?: string): ControlInputs {
    const label = dnsLabel ? { dnsLabel: checkDnsLabel(dnsLabel) } : {};
    const c = this.clusterTarget();
    return {
      kubeconfig: c.access.kubeconfig,
      manifests: this.source.directory("k8s"),
      kubectl: { ...kubectlOptions(c), ...label },
      ...(region ? { region: checkRegion(region) } : {}),
      verify: this.verifier(),
    };
  }

  /** with-image-policy's check, with with-registry's sign-in for images of that registry; undefined without a policy. */
  private verifier(): ImageVerifier | undefined {
    if (!this.policy) return undefined;
    return imageVerifier(policyTarget(this.policy), this.registry ? this.registryTarget() : undefined);
  }

  private signingTargetIfAny() {
    return this.signing ? signingTarget(this.signing) : undefined;
  }

  private registryTarget(): RegistryTarget {
    if (!this.registry) {
      throw new Error(
        "no registry configured: start the call with with-registry, e.g. dagger call with-registry --address myacr.azurecr.io --entra-token env://ACR_TOKEN publish",
      );
    }
    return registryTarget(this.registry);
  }

  private clusterTarget(): ClusterTarget {
    if (!this.cluster) {
      throw new Error(
        "no cluster configured: start the call with with-cluster, e.g. dagger call with-cluster --kubeconfig file://./kubeconfig --namespace ai-app deploy --image ...",
      );
    }
    return clusterTarget(this.cluster);
  }

  /** The store's target when one was configured (for options that need it only when given). */
  private storeTargetIfAny(): (() => StoreTarget) | undefined {
    return this.store ? () => this.storeTarget() : undefined;
  }

  private storeTarget(): StoreTarget {
    if (!this.store) {
      throw new Error(
        "no model store configured: start the call with with-store (Blob Storage) or with-aws-store, e.g. dagger call with-store --account NAME --sas-token env://AZURE_STORAGE_SAS_TOKEN model-versions",
      );
    }
    return storeTarget(restoreStoreSettings(this.store));
  }

  /** Who an alias move or yank is recorded as: --by, else the revision being built. */
  private changedBy(by: string): string {
    if (by.trim()) return by;
    if (this.revision !== UNSET_REVISION) return `revision ${this.revision}`;
    throw new Error(
      'say who makes this change: --by "your name", or start the call with dagger call --revision "$(git rev-parse HEAD)" ...',
    );
  }

  private buildOptions(): BuildOptions {
    return {
      revision: this.revision,
      ...(this.created ? { created: this.created } : {}),
      ...(this.sourceUrl ? { sourceUrl: this.sourceUrl } : {}),
    };
  }
}
